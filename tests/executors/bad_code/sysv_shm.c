#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
int main(void) {
    size_t size = (size_t)2 << 30; /* 2 GiB: RLIMIT_AS does not count SysV shm (trap 4) */
    int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    char *mem = shmat(id, NULL, 0);
    if (mem == (void *)-1) { perror("shmat"); return 1; }
    memset(mem, 1, size);
    puts("pinned 2 GiB");
    return 0;
}
