// Just enough XML for S3 responses and requests. S3 documents are small, flat and
// well-formed, with no repeated nesting of one tag, so a tag scanner suffices:
// no DTDs, no namespaces beyond ignoring attributes on the opening tag.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace litesync {

// The raw inner text of each <tag ...>...</tag> (or <tag/>) in order.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// The unescaped text of the first <tag>; nullopt when there is none.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag);
// &amp; &lt; &gt; &quot; &apos; and numeric references, decoded (UTF-8).
std::string XmlUnescape(std::string_view s);
std::string XmlEscape(std::string_view s);

}  // namespace litesync
