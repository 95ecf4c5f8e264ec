#include "replica/format/page_checksum.h"

#include <xxhash.h>

namespace litesync {

uint64_t PageHash(uint32_t pgno, std::string_view page) {
  return XXH3_64bits_withSeed(page.data(), page.size(), pgno);
}

}  // namespace litesync
