// Paths as a config file or a command line writes them. Reads $HOME and the
// working directory; thread-safe while neither changes.
#pragma once

#include <string>
#include <string_view>

namespace litesync {

// "~" and "~/x" from $HOME, relative paths against the working directory, then
// lexically normalized with no trailing slash. Empty stays empty.
std::string AbsolutePath(std::string_view path);

}  // namespace litesync
