/* content_type.h — an artifact's Content-Type from its name (pure). The
 * sandbox controls the bytes, so nothing is sniffed: a name the table does not
 * know is application/octet-stream. */
#ifndef SQ_CONTENT_TYPE_H
#define SQ_CONTENT_TYPE_H

const char *sq_content_type_of(const char *path);

#endif
