#include "replica/storage/s3/s3_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace litesync {
namespace {

using ::testing::ElementsAre;

TEST(S3XmlTest, FindsElementsWithAttributesAndSkipsLongerNames) {
  std::string xml =
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3\"><KeyCount>2</KeyCount>"
      "<Contents><Key>a&amp;b</Key><Size>1</Size></Contents><Contents ><Key>c</Key>"
      "<Size>22</Size></Contents><IsTruncated>false</IsTruncated><Empty/></ListBucketResult>";
  EXPECT_THAT(XmlElements(xml, "Contents"),
              ElementsAre("<Key>a&amp;b</Key><Size>1</Size>", "<Key>c</Key><Size>22</Size>"));
  EXPECT_EQ(XmlText(xml, "Key"), "a&b");  // not <KeyCount>
  EXPECT_EQ(XmlText(xml, "KeyCount"), "2");
  EXPECT_EQ(XmlText(xml, "Empty"), "");
  EXPECT_EQ(XmlText(xml, "NextContinuationToken"), std::nullopt);
  EXPECT_EQ(XmlElements(xml, "ListBucketResult").size(), 1u);
}

TEST(S3XmlTest, UnescapesEntitiesAndEscapesMarkup) {
  EXPECT_EQ(XmlUnescape("&lt;a&gt; &quot;q&quot; &apos;s&apos; &#65;&#x42; &unknown; & x"),
            "<a> \"q\" 's' AB &unknown; & x");
  EXPECT_EQ(XmlUnescape("&#xe9;"), "\xc3\xa9");
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlUnescape(XmlEscape("k/\"etag\"&<>")), "k/\"etag\"&<>");
}

TEST(S3XmlTest, ToleratesTruncatedDocuments) {
  EXPECT_TRUE(XmlElements("<Error><Code>Slow", "Code").empty());
  EXPECT_EQ(XmlText("<Error", "Error"), std::nullopt);
  EXPECT_TRUE(XmlElements("", "Key").empty());
}

}  // namespace
}  // namespace litesync
