#include "bench/dir_watch.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>

namespace litesync::bench {
namespace {

long long NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

class Watcher {
 public:
  Watcher(int fd, FILE* out) : fd_(fd), out_(out) {}

  // Watches `rel` (relative to root, "" for the root) and everything below it;
  // files already there are reported as "scan" when `report` is set.
  bool Add(const std::string& root, const std::string& rel, bool report) {
    std::string path = rel.empty() ? root : root + "/" + rel;
    int wd = inotify_add_watch(fd_, path.c_str(), IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
    if (wd < 0) {
      if (errno == ENOENT) return true;  // removed meanwhile
      std::fprintf(stderr, "dir_watch: watch %s: %s\n", path.c_str(), std::strerror(errno));
      return false;
    }
    dirs_[wd] = rel;
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return true;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string child = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (stat((root + "/" + child).c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        if (!Add(root, child, report)) {
          closedir(d);
          return false;
        }
      } else if (report) {
        std::fprintf(out_, "%lld scan %s\n", NowNs(), child.c_str());
      }
    }
    closedir(d);
    return true;
  }

  bool Drain(const std::string& root) {
    alignas(inotify_event) char buf[64 * 1024];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    long long now = NowNs();
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) std::fprintf(out_, "%lld overflow -\n", now);
      auto it = dirs_.find(ev->wd);
      if (it == dirs_.end() || ev->len == 0) continue;
      std::string rel = it->second.empty() ? ev->name : it->second + "/" + ev->name;
      if (ev->mask & IN_ISDIR) {
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && !Add(root, rel, true)) return false;
      } else if (ev->mask & IN_MOVED_TO) {
        std::fprintf(out_, "%lld moved %s\n", now, rel.c_str());
      } else if (ev->mask & IN_CLOSE_WRITE) {
        std::fprintf(out_, "%lld closed %s\n", now, rel.c_str());
      }
    }
    std::fflush(out_);
    return true;
  }

 private:
  int fd_;
  FILE* out_;
  std::map<int, std::string> dirs_;
};

}  // namespace

int WatchTree(const std::string& root, const std::string& out_path) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  int ifd = inotify_init1(IN_CLOEXEC);
  FILE* out = std::fopen(out_path.c_str(), "w");
  if (sfd < 0 || ifd < 0 || out == nullptr) {
    std::fprintf(stderr, "dir_watch: setup: %s\n", std::strerror(errno));
    return 1;
  }
  Watcher w(ifd, out);
  if (!w.Add(root, "", true)) return 1;
  std::fprintf(out, "%lld ready -\n", NowNs());
  std::fflush(out);
  pollfd fds[2] = {{ifd, POLLIN, 0}, {sfd, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if ((fds[0].revents & POLLIN) && !w.Drain(root)) return 1;
    if (fds[1].revents & POLLIN) break;
  }
  std::fclose(out);
  return 0;
}

}  // namespace litesync::bench
