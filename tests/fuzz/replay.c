/* Runs a libFuzzer target over files and directories of inputs without
 * libFuzzer: the committed corpora become regression tests in every build
 * (GCC, the sanitizers' build), not only in clang's fuzzing build. A target
 * signals a failed check by trapping, as under libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(size ? size : 1);
    int ok = f && buf && fread(buf, 1, size, f) == size;
    if (ok)
        LLVMFuzzerTestOneInput(buf, size);
    else
        fprintf(stderr, "replay: cannot read %s\n", path);
    free(buf);
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i], (size_t)st.st_size) != 0)
                return 1;
            count++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (replay_file(path, (size_t)st.st_size) != 0)
                return 1;
            count++;
        }
        if (d)
            closedir(d);
    }
    printf("replay: %d inputs, no check failed\n", count);
    return count > 0 ? 0 : 1;
}
