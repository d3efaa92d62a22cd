/* parts.c — see parts.h. */
#include "artifacts/parts.h"

size_t sq_art_parts_plan(const size_t *item_bytes, size_t n, size_t budget, size_t *part_of)
{
    size_t part = 0, used = 0, in_part = 0;
    for (size_t i = 0; i < n; i++) {
        size_t need = item_bytes[i] + 1; /* the comma before it */
        if (in_part > 0 && (used + need > budget || used + need < used)) {
            part++;
            used = 0;
            in_part = 0;
        }
        used += need;
        in_part++;
        part_of[i] = part;
    }
    return part + 1;
}
