#include <stdlib.h>
#include <string.h>
int main(void) {
    for (;;) {
        char *block = malloc(64 << 20);
        if (!block) return 12;
        memset(block, 1, 64 << 20);
    }
}
