/* keys.c — see keys.h. No I/O. */
#include "caps/browser/keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const sq_key named[] = {
    {"Enter", "Enter", 13, "\r"},      {"Tab", "Tab", 9, ""},          {"Escape", "Escape", 27, ""},
    {"Backspace", "Backspace", 8, ""}, {"Delete", "Delete", 46, ""},   {"ArrowLeft", "ArrowLeft", 37, ""},
    {"ArrowUp", "ArrowUp", 38, ""},    {"ArrowRight", "ArrowRight", 39, ""}, {"ArrowDown", "ArrowDown", 40, ""},
    {"Home", "Home", 36, ""},          {"End", "End", 35, ""},         {"PageUp", "PageUp", 33, ""},
    {"PageDown", "PageDown", 34, ""},  {"Space", "Space", 32, " "},
};

bool sq_key_lookup(const char *name, sq_key *out, char buf[16])
{
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(named[i].key, name) == 0) {
            *out = named[i];
            if (strcmp(name, "Space") == 0)
                out->key = " ";
            return true;
        }
    }
    unsigned char c = (unsigned char)name[0];
    if (!c || name[1] || c < 0x20 || c > 0x7e)
        return false;
    /* buf: [0..1] the character as key and text, [2..] its code. */
    buf[0] = (char)c;
    buf[1] = '\0';
    out->key = buf;
    out->text = buf;
    out->code = buf + 2;
    if (isalpha(c)) {
        snprintf(buf + 2, 14, "Key%c", toupper(c));
        out->key_code = toupper(c);
    } else if (isdigit(c)) {
        snprintf(buf + 2, 14, "Digit%c", c);
        out->key_code = c;
    } else {
        buf[2] = '\0'; /* punctuation: the key and its text are enough for pages */
        out->key_code = 0;
    }
    return true;
}
