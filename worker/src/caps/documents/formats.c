/* formats.c — see formats.h. No I/O. */
#include "caps/documents/formats.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* What LibreOffice 7.4 reads each input as. The import filter is forced: with
 * automatic detection soffice opens bytes it does not recognise as plain text
 * and "converts" them (garbage named .docx became a 70 KB PDF of noise). */
typedef struct input_format {
    const char *ext;
    const char *as;         /* the format's canonical name */
    const char *infilter;   /* NULL: pdftotext */
    const char *targets[6]; /* what it converts to, NULL-terminated */
} input_format;

/* CSV import options: comma, double quote, UTF-8 (76), from line 1. */
#define CSV_IN "Text - txt - csv (StarCalc):44,34,76,1"

static const input_format inputs[] = {
    {"docx", "docx", "MS Word 2007 XML", {"pdf", "odt", NULL}},
    {"odt", "odt", "writer8", {"pdf", "docx", NULL}},
    {"html", "html", "HTML (StarWriter)", {"pdf", "odt", "docx", NULL}},
    {"htm", "html", "HTML (StarWriter)", {"pdf", "odt", "docx", NULL}},
    /* LibreOffice 7.4 has no Markdown import: the source is laid out as
     * UTF-8 plain text (docs/documents.md). */
    {"md", "md", "Text (encoded):UTF8", {"pdf", NULL}},
    {"xlsx", "xlsx", "Calc MS Excel 2007 XML", {"pdf", "ods", "csv", NULL}},
    {"ods", "ods", "calc8", {"pdf", "xlsx", "csv", NULL}},
    {"csv", "csv", CSV_IN, {"pdf", "ods", "xlsx", NULL}},
    {"pptx", "pptx", "Impress MS PowerPoint 2007 XML", {"pdf", NULL}},
    {"pdf", "pdf", NULL, {"txt", NULL}},
};

/* --convert-to's argument per target: the extension alone lets soffice pick
 * the export filter of the document's module, except CSV, whose options
 * (UTF-8) are given like on import. */
static const char *convert_arg(const char *to)
{
    return strcmp(to, "csv") == 0 ? "csv:" CSV_IN : to;
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : NULL;
}

static void list_inputs(char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0] && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s.%s", i ? ", " : "", inputs[i].ext);
}

static void list_targets(const input_format *f, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; f->targets[i] && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", f->targets[i]);
}

int sq_doc_plan_for(const char *input, const char *to, sq_doc_plan *plan, sq_err *err)
{
    const char *ext = extension(input);
    const input_format *f = NULL;
    for (size_t i = 0; ext && i < sizeof inputs / sizeof inputs[0]; i++)
        if (strcasecmp(ext, inputs[i].ext) == 0)
            f = &inputs[i];
    char list[256];
    if (!f) {
        list_inputs(list, sizeof list);
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.input",
                            "cannot convert %s: the input's extension names its format, and the supported ones "
                            "are %s",
                            input, list);
    }
    for (int i = 0; f->targets[i]; i++) {
        if (strcmp(f->targets[i], to) != 0)
            continue;
        plan->from = f->as;
        plan->to = f->targets[i];
        plan->tool = f->infilter ? SQ_DOC_SOFFICE : SQ_DOC_PDFTOTEXT;
        plan->infilter = f->infilter;
        plan->convert_to = f->infilter ? convert_arg(f->targets[i]) : NULL;
        return 0;
    }
    list_targets(f, list, sizeof list);
    return sq_err_field(err, SQ_INVALID_REQUEST, "body.to", "%s cannot be converted to %s; it converts to %s", f->as,
                        to, list);
}

void sq_doc_dirname(const char *rel, char *out, size_t out_size)
{
    const char *slash = strrchr(rel, '/');
    if (!slash) {
        snprintf(out, out_size, ".");
        return;
    }
    snprintf(out, out_size, "%.*s", (int)(slash - rel), rel);
}

int sq_doc_output_path(const char *outdir, const char *input, const char *to, char *out, size_t out_size,
                       sq_err *err)
{
    const char *slash = strrchr(input, '/');
    const char *base = slash ? slash + 1 : input;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    int n = strcmp(outdir, ".") == 0 ? snprintf(out, out_size, "%.*s.%s", stem, base, to)
                                     : snprintf(out, out_size, "%s/%.*s.%s", outdir, stem, base, to);
    if (n < 0 || (size_t)n >= out_size)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.input", "the output's path would be too long");
    return 0;
}

bool sq_doc_wanted(const json_t *body)
{
    const json_t *d = json_object_get(json_object_get(body, "capabilities"), "documents");
    return json_is_true(json_object_get(d, "libreofficeHeadless"));
}

int sq_doc_create_check(bool wanted, bool available, int64_t memory_mb, sq_err *err)
{
    if (!wanted)
        return 0;
    if (!available)
        return sq_err_field(err, SQ_CAPABILITY_UNAVAILABLE, "body.capabilities.documents",
                            "this worker has no LibreOffice installed (soffice, with pdftotext from poppler-utils); "
                            "create the sandbox without capabilities.documents or on a worker that has it");
    if (memory_mb > 0 && memory_mb < SQ_DOC_MIN_MEMORY_MB)
        return sq_err_field(err, SQ_LIMIT_EXCEEDED, "body.limits.memoryMb",
                            "memoryMb %lld is below the %d MiB a sandbox with documents needs (LibreOffice peaks "
                            "at about 210 MiB)",
                            (long long)memory_mb, SQ_DOC_MIN_MEMORY_MB);
    return 0;
}
