#include "base/path.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace litesync {

std::string AbsolutePath(std::string_view path) {
  if (path.empty()) return "";
  std::filesystem::path p{std::string(path)};
  if (path == "~" || path.substr(0, 2) == "~/") {
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') {
      p = std::filesystem::path(home) / std::string(path.substr(path.size() > 1 ? 2 : 1));
    }
  }
  if (p.is_relative()) {
    std::error_code ec;
    std::filesystem::path cwd = std::filesystem::current_path(ec);
    if (!ec) p = cwd / p;
  }
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace litesync
