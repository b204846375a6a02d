/*
 * The light client of the echo benches: `conns` connections, each sending 64 bytes and sending
 * again on every 64 bytes echoed, for `seconds`; prints the messages echoed. One thread, one
 * epoll_wait per wake-up, one read and one write per message: it costs less per message than
 * the servers it drives, so a two-core machine measures the server, not the client.
 *   cc -O2 -o pingpong pingpong.c
 *   pingpong tcp <port> <conns> <seconds>      (127.0.0.1)
 *   pingpong unix <path> <conns> <seconds>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define MAX_CONNS 20000

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A blocking connect (the listener is local), then non-blocking for the run. */
static int dial(const char *kind, const char *where) {
  int fd;
  if (strcmp(kind, "unix") == 0) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, where, sizeof addr.sun_path - 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return -1;
  } else {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(where))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: pingpong tcp|unix <port|path> <conns> <seconds>\n");
    return 2;
  }
  int conns = atoi(argv[3]);
  double seconds = atof(argv[4]);
  if (conns < 1 || conns > MAX_CONNS) return 2;
  static int got[MAX_CONNS];
  char msg[MSG], buf[65536];
  memset(msg, 'a', sizeof msg);
  int ep = epoll_create1(0);
  int *fds = calloc(conns, sizeof *fds);
  for (int i = 0; i < conns; i++) {
    fds[i] = dial(argv[1], argv[2]);
    if (fds[i] < 0) {
      perror("connect");
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  for (int i = 0; i < conns; i++) {
    if (write(fds[i], msg, MSG) != MSG) return 1;
  }
  long long msgs = 0;
  double end = now() + seconds;
  struct epoll_event events[1024];
  int polls = 0;
  for (;;) {
    /* The clock is read every 64 wake-ups: cheap, and late by well under a millisecond. */
    if ((++polls & 63) == 0 && now() >= end) break;
    int n = epoll_wait(ep, events, 1024, 100);
    for (int k = 0; k < n; k++) {
      int i = events[k].data.u32;
      ssize_t r = read(fds[i], buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        fprintf(stderr, "connection %d: %s\n", i, r == 0 ? "EOF" : strerror(errno));
        return 1;
      }
      got[i] += r;
      while (got[i] >= MSG) {
        got[i] -= MSG;
        msgs++;
        if (write(fds[i], msg, MSG) != MSG) return 1;
      }
    }
  }
  printf("%lld\n", msgs);
  return 0;
}
