#include "base/scratch_dir.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/handles.h"
#include "fmt/format.h"

namespace litesync {

std::string ScratchDir(const std::string& dir) {
  if (!dir.empty()) return dir;
  const char* t = ::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? t : "/tmp";
}

absl::Status CheckScratchDir(const std::string& dir) {
  std::string path = dir + "/.litesync-scratch-check-XXXXXX";
  UniqueFd fd(::mkstemp(path.data()));
  if (!fd.valid()) {
    int err = errno;
    return absl::FailedPreconditionError(fmt::format(
        "scratch directory {} ($TMPDIR, else /tmp): cannot create a file: {}; point TMPDIR at a "
        "writable directory (in Kubernetes: mount an emptyDir volume there)",
        dir, std::strerror(err)));
  }
  ::unlink(path.c_str());
  return absl::OkStatus();
}

}  // namespace litesync
