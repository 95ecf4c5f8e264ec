#include "replica/storage/s3/s3_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace litesync {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Keys(pugi::xml_node root) {
  std::vector<std::string> keys;
  for (pugi::xml_node c : XmlElements(root, "Contents")) keys.push_back(*XmlText(c, "Key"));
  return keys;
}

TEST(S3XmlTest, FindsElementsByNameWithNamespacesEntitiesAndCdata) {
  XmlDocument xml(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3\"><KeyCount>3</KeyCount>"
      "<Contents><Key>a&amp;b</Key><Size>1</Size></Contents><Contents ><Key>c&#xe9;</Key>"
      "<Size>22</Size></Contents><Contents><Key><![CDATA[<d>]]></Key></Contents>"
      "<IsTruncated>false</IsTruncated><Empty/></ListBucketResult>");
  ASSERT_TRUE(xml.ok());
  EXPECT_THAT(Keys(xml.root()), ElementsAre("a&b", "c\xc3\xa9", "<d>"));
  EXPECT_EQ(XmlText(xml.root(), "Key"), "a&b");  // not <KeyCount>
  EXPECT_EQ(XmlText(xml.root(), "KeyCount"), "3");
  EXPECT_EQ(XmlText(xml.root(), "Empty"), "");
  EXPECT_EQ(XmlText(xml.root(), "NextContinuationToken"), std::nullopt);
  EXPECT_EQ(XmlElements(xml.root(), "ListBucketResult").size(), 1u);
}

TEST(S3XmlTest, BuiltRequestsEscapeMarkupAndReadBack) {
  pugi::xml_document doc;
  pugi::xml_node del = doc.append_child("Delete");
  del.append_attribute("xmlns").set_value(kS3Xmlns);
  del.append_child("Object").append_child("Key").text().set("k/\"etag\"&<>'");
  std::string text = XmlToString(doc);
  EXPECT_EQ(text.rfind("<?xml", 0), 0u) << text;
  EXPECT_THAT(text, ::testing::HasSubstr("&lt;"));
  XmlDocument back(text);
  ASSERT_TRUE(back.ok()) << text;
  EXPECT_EQ(XmlText(back.root(), "Key"), "k/\"etag\"&<>'");
}

TEST(S3XmlTest, MalformedOrTruncatedBodiesAreNotOkAndFindNothing) {
  for (const char* body : {"<Error><Code>Slow", "<Error", "", "<html>502 Bad Gateway",
                           "<ListBucketResult><Contents><Key>a</Key></Contents>"}) {
    XmlDocument xml(body);
    EXPECT_FALSE(xml.ok()) << body;
    EXPECT_TRUE(XmlElements(xml.root(), "Contents").empty()) << body;
    EXPECT_EQ(XmlText(xml.root(), "Code"), std::nullopt) << body;
  }
}

}  // namespace
}  // namespace litesync
