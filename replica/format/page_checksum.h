// The database checksum: XOR over pages 1..commit of XXH3-64(page, seed = pgno).
// XOR makes it cheap to update per changed page: remove the old page's hash, add
// the new one. Two images with the same page count and checksum are taken as equal.
#pragma once

#include <cstdint>
#include <string_view>

namespace litesync {

uint64_t PageHash(uint32_t pgno, std::string_view page);

}  // namespace litesync
