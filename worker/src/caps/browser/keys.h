/* keys.h — the named keys `press` accepts, as CDP Input.dispatchKeyEvent
 * fields. Pure table lookup; unit-tested. */
#ifndef SQ_BROWSER_KEYS_H
#define SQ_BROWSER_KEYS_H

#include <stdbool.h>

typedef struct sq_key {
    const char *key;   /* DOM KeyboardEvent.key: "Enter", "a" */
    const char *code;  /* DOM KeyboardEvent.code: "Enter", "KeyA" ("" when unknown) */
    int key_code;      /* windowsVirtualKeyCode */
    const char *text;  /* text the key types ("" for none) */
} sq_key;

/* Look a key up: a name from the table (Enter, Tab, Escape, Backspace,
 * Delete, ArrowUp/Down/Left/Right, Home, End, PageUp, PageDown, Space) or a
 * single printable ASCII character. buf backs the fields of a character key.
 * Returns false for anything else. */
bool sq_key_lookup(const char *name, sq_key *out, char buf[16]);

#endif
