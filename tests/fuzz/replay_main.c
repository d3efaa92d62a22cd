/* replay_main.c — run a fuzz harness over files without libFuzzer.
 *
 *   replay_<target> DIR_OR_FILE...
 *
 * Every regular file (directories are read one level deep) is passed to the
 * harness's LLVMFuzzerTestOneInput exactly as libFuzzer would pass it, in a
 * heap buffer of exactly its size so a sanitizer build sees any over-read.
 * Exits non-zero if a path cannot be read or if no input was found (a corpus
 * that silently went missing must not pass); a failed invariant aborts. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_check.h"

#define REPLAY_MAX_INPUT (16u << 20)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (size_t)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "%s: cannot stat or larger than %u bytes\n", path, REPLAY_MAX_INPUT);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf || fread(buf, 1, size, f) != size) {
        fprintf(stderr, "%s: short read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* libFuzzer passes a pointer to exactly `size` bytes; so do we. */
    uint8_t *exact = malloc(size ? size : 1);
    memcpy(exact, buf, size);
    free(buf);
    LLVMFuzzerTestOneInput(size ? exact : NULL, size);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    size_t ran = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) < 0)
                failed = 1;
            else
                ran++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            failed = 1;
            continue;
        }
        /* Sorted, so a failure names the same file on every machine. */
        char **names = NULL;
        size_t count = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            if (count == cap) {
                cap = cap ? 2 * cap : 64;
                names = realloc(names, cap * sizeof *names);
            }
            names[count++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, count, sizeof *names, cmp_names);
        for (size_t k = 0; k < count; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            struct stat fst;
            if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
                if (run_file(path) < 0)
                    failed = 1;
                else
                    ran++;
            }
            free(names[k]);
        }
        free(names);
    }
    if (ran == 0) {
        fprintf(stderr, "no inputs found in the given paths\n");
        return 1;
    }
    printf("replayed %zu inputs%s\n", ran, failed ? " (some paths could not be read)" : "");
    return failed;
}
