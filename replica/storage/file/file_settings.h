// The directory backend's settings (replica/storage/backend_settings.h).
#pragma once

#include <string>

#include "replica/storage/backend_settings.h"

namespace litesync {

struct FileSettings : BackendSettingsOf<FileSettings> {
  // The replica directory (absolute or relative to the working directory).
  std::string path;

  bool operator==(const FileSettings&) const = default;
};

}  // namespace litesync
