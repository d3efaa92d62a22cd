/* serve.c — see serve.h. Runs on libmicrohttpd's thread; the file itself is
 * sent by MHD from the fd (sendfile), so a slow client holds a descriptor,
 * never a thread. */
#include "artifacts/serve.h"

#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/artifact_sql.h"
#include "artifacts/http_range.h"
#include "artifacts/store.h"
#include "sq/clock.h"
#include "sq/ids.h"
#include "sq/log.h"

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

typedef struct row {
    char key[SQ_ART_KEY_MAX];
    char ctype[256];
    char store[1100];
    char path[4200];
} row;

/* 1 found, 0 not, -1 database trouble. */
static int lookup(sq_worker *w, const char *id, row *out)
{
    int found = -1;
    sq_err err;
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    if (sq_pool_pg(&w->pool, c, &err) == 0) {
        const char *p[] = {id};
        PGresult *r = PQexecParams(c->pg, SQ_SQL_ARTIFACT_GET, 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            found = PQntuples(r) == 1;
            if (found) {
                snprintf(out->key, sizeof out->key, "%s", PQgetvalue(r, 0, 0));
                snprintf(out->ctype, sizeof out->ctype, "%s", PQgetvalue(r, 0, 2));
                snprintf(out->store, sizeof out->store, "%s", PQgetvalue(r, 0, 3));
                snprintf(out->path, sizeof out->path, "%s", PQgetvalue(r, 0, 4));
            }
        }
        PQclear(r);
    }
    sq_pool_release(&w->pool, c);
    return found;
}

enum MHD_Result sq_art_serve(sq_worker *w, struct MHD_Connection *c, const char *url)
{
    const char *id = url + strlen("/artifacts/");
    if (!sq_id_valid(id, "art"))
        return text(c, 404, "not found\n");
    sq_err why;
    /* The signature first: nothing about an artifact (not even whether it
     * exists) is told to a request that is not signed. */
    if (sq_art_url_verify(w->artifacts->url_key, id, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "exp"),
                          MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sig"), sq_now_ms() / 1000,
                          &why) < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "forbidden: %s\n", why.msg);
        return text(c, 403, msg);
    }
    row *rw = malloc(sizeof *rw);
    if (!rw)
        return text(c, 500, "out of memory\n");
    int found = lookup(w, id, rw);
    if (found < 0) {
        free(rw);
        return text(c, 503, "the artifact index (PostgreSQL) is unavailable\n");
    }
    if (found == 0 || strcmp(rw->store, w->artifacts->url) != 0) {
        free(rw);
        return text(c, 404, "no such artifact in this worker's store\n");
    }
    int fd = sq_art_store_open_file(w->artifacts, rw->key, &why);
    if (fd < 0) {
        free(rw);
        return text(c, 404, "the artifact's file is missing from the store\n");
    }
    struct stat st;
    fstat(fd, &st);
    uint64_t size = (uint64_t)st.st_size, first = 0, len = size;
    unsigned status = 200;
    char content_range[96] = "";
    switch (sq_range_parse(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range"), size, &first, &len)) {
    case SQ_RANGE_OK:
        status = 206;
        snprintf(content_range, sizeof content_range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first,
                 first + len - 1, size);
        break;
    case SQ_RANGE_UNSATISFIABLE: {
        close(fd);
        free(rw);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        snprintf(content_range, sizeof content_range, "bytes */%" PRIu64, size);
        MHD_add_response_header(r, "Content-Range", content_range);
        enum MHD_Result ret = MHD_queue_response(c, 416, r);
        MHD_destroy_response(r);
        return ret;
    }
    case SQ_RANGE_NONE:
        first = 0;
        len = size;
        break;
    }
    /* MHD owns fd from here and closes it with the response. */
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, first);
    if (!r) {
        close(fd);
        free(rw);
        return text(c, 500, "cannot serve the file\n");
    }
    const char *slash = strrchr(rw->path, '/');
    const char *name = slash ? slash + 1 : rw->path;
    char disp[400];
    /* Only plain names go in the header; others get a generic one. */
    bool plain = strlen(name) < 200 && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                                           strlen(name);
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", plain ? name : "artifact");
    MHD_add_response_header(r, "Content-Type", rw->ctype);
    MHD_add_response_header(r, "Content-Disposition", disp);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    /* Sandbox-made HTML must not run as this endpoint's origin. */
    MHD_add_response_header(r, "Content-Security-Policy", "sandbox");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 206)
        MHD_add_response_header(r, "Content-Range", content_range);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    free(rw);
    return ret;
}
