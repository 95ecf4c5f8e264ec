// A temporary directory owned by one test, removed with everything in it.
#pragma once

#include <string>

namespace litesync::testing {

class TempDir {
 public:
  TempDir();   // under $TMPDIR (or /tmp), named after the running test
  ~TempDir();  // rm -rf
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Whole-file helpers for tests.
std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& bytes);
bool FileExists(const std::string& path);

}  // namespace litesync::testing
