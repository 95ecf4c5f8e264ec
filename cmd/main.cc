#include <cstdio>
#include <string>

#include "cmd/version.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "version") {
    std::printf("%s\n", litesync::VersionString().c_str());
    return 0;
  }
  std::fprintf(stderr, "usage: litesync <replicate|restore|databases|version> ...\n");
  return 2;
}
