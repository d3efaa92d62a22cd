/* content_type.c — see content_type.h. */
#include "artifacts/content_type.h"

#include <string.h>
#include <strings.h>

static const struct {
    const char *ext;
    const char *type;
} table[] = {
    {"txt", "text/plain; charset=utf-8"}, {"log", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
    {"tsv", "text/tab-separated-values"}, {"json", "application/json"},
    {"jsonl", "application/x-ndjson"}, {"cast", "application/x-asciicast"}, {"xml", "application/xml"},
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"css", "text/css"}, {"js", "text/javascript"}, {"py", "text/x-python"},
    {"pdf", "application/pdf"}, {"png", "image/png"}, {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"},
    {"svg", "image/svg+xml"}, {"mp4", "video/mp4"}, {"webm", "video/webm"},
    {"wav", "audio/wav"}, {"mp3", "audio/mpeg"}, {"zip", "application/zip"},
    {"gz", "application/gzip"}, {"tgz", "application/gzip"}, {"tar", "application/x-tar"},
    {"zst", "application/zstd"}, {"parquet", "application/vnd.apache.parquet"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
};

const char *sq_content_type_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    if (dot && dot != name)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcasecmp(dot + 1, table[i].ext) == 0)
                return table[i].type;
    return "application/octet-stream";
}
