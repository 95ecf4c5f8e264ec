#include "replica/storage/s3/s3_xml.h"

#include <sstream>

namespace litesync {

XmlDocument::XmlDocument(std::string_view body) {
  ok_ = doc_.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!ok_) doc_.reset();
}

namespace {

pugi::xml_node FirstNamed(pugi::xml_node node, const char* tag) {
  if (std::string_view(node.name()) == tag) return node;
  return node.find_node([tag](pugi::xml_node n) {
    return n.type() == pugi::node_element && std::string_view(n.name()) == tag;
  });
}

void CollectNamed(pugi::xml_node node, const char* tag, std::vector<pugi::xml_node>* out) {
  if (node.type() == pugi::node_element && std::string_view(node.name()) == tag) {
    out->push_back(node);
    return;  // S3 never nests an element inside one of the same name
  }
  for (pugi::xml_node child : node.children()) CollectNamed(child, tag, out);
}

}  // namespace

std::optional<std::string> XmlText(pugi::xml_node node, const char* tag) {
  pugi::xml_node n = FirstNamed(node, tag);
  if (!n) return std::nullopt;
  return std::string(n.text().get());
}

std::vector<pugi::xml_node> XmlElements(pugi::xml_node node, const char* tag) {
  std::vector<pugi::xml_node> out;
  if (node) CollectNamed(node, tag, &out);
  return out;
}

std::string XmlToString(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw, pugi::encoding_utf8);
  return out.str();
}

std::string XmlToString(pugi::xml_node node) {
  std::ostringstream out;
  node.print(out, "", pugi::format_raw, pugi::encoding_utf8);
  return out.str();
}

}  // namespace litesync
