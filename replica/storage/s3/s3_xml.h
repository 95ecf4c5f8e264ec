// S3's XML bodies through pugixml: responses parsed into a tree (entities, CDATA
// and namespaces handled by the library), requests built as trees and printed.
// S3 element names are unprefixed (one default namespace), so lookups go by name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pugixml.hpp"

namespace litesync {

// The namespace of every S3 request and response document.
inline constexpr char kS3Xmlns[] = "http://s3.amazonaws.com/doc/2006-03-01/";

// A response body, parsed. A body that is not well-formed XML (empty, truncated
// by a dropped connection, an HTML error page) parses as an empty document with
// ok() false, so lookups find nothing.
class XmlDocument {
 public:
  explicit XmlDocument(std::string_view body);
  XmlDocument(const XmlDocument&) = delete;
  XmlDocument& operator=(const XmlDocument&) = delete;

  bool ok() const { return ok_; }
  pugi::xml_node root() const { return doc_.document_element(); }

 private:
  pugi::xml_document doc_;
  bool ok_ = false;
};

// The text of the first element named `tag` at or below `node` (document order);
// nullopt when there is none, "" for <tag/>.
std::optional<std::string> XmlText(pugi::xml_node node, const char* tag);
// Every element named `tag` at or below `node`, in document order.
std::vector<pugi::xml_node> XmlElements(pugi::xml_node node, const char* tag);

// `doc` printed without indentation, with an XML declaration.
std::string XmlToString(const pugi::xml_document& doc);
// `node` printed on its own (for error messages that quote an element).
std::string XmlToString(pugi::xml_node node);

}  // namespace litesync
