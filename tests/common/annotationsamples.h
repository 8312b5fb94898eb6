// SPDX-License-Identifier: GPL-3.0-or-later
// Annotation files in the formats pathologists' tools write, for the annotation tests
// (tests/project/annotations) and the fuzz seed corpora (tests/fuzz/make_corpus.cpp).
#pragma once

namespace icmil::test {

// A QuPath 0.4 export: a Tumor annotation with a hole, a two-part Stroma annotation with its
// colour as [r, g, b], an older export's packed colorRGB, and a detection.
inline constexpr const char *kQuPathGeoJson = R"({"type":"FeatureCollection","features":[
 {"type":"Feature","id":"a1","geometry":{"type":"Polygon","coordinates":[[[100,100],[900,100],[900,900],[100,900],[100,100]],
   [[400,400],[600,400],[600,600],[400,600],[400,400]]]},
  "properties":{"objectType":"annotation","name":"tumour 1","classification":{"name":"Tumor","color":[200,0,0]}}},
 {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[1000,100],[1200,100],[1200,300],[1000,300],[1000,100]]],
   [[[1300,100],[1500,100],[1500,300],[1300,300],[1300,100]]]]},
  "properties":{"objectType":"annotation","classification":{"name":"Stroma","colorRGB":-16744448}}},
 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[10,10],[20,10],[20,20],[10,10]]]},
  "properties":{"objectType":"detection","classification":{"name":"Tumor"}}}
]})";

// Camelyon16's ASAP XML: tumour in groups _0 and _1, an exclusion (_2) inside it; a Rectangle of
// a named group whose colour comes from AnnotationGroups.
inline constexpr const char *kAsapXml = R"(<?xml version="1.0"?>
<ASAP_Annotations>
  <Annotations>
    <Annotation Name="Annotation 0" Type="Polygon" PartOfGroup="_0" Color="#F4FA58">
      <Coordinates>
        <Coordinate Order="0" X="512" Y="512" />
        <Coordinate Order="2" X="1536" Y="1280" />
        <Coordinate Order="1" X="1536" Y="512" />
        <Coordinate Order="3" X="512" Y="1280" />
      </Coordinates>
    </Annotation>
    <Annotation Name="Annotation 1" Type="Polygon" PartOfGroup="_2" Color="#64FE2E">
      <Coordinates>
        <Coordinate Order="0" X="768" Y="768" />
        <Coordinate Order="1" X="1024" Y="768" />
        <Coordinate Order="2" X="1024" Y="1024" />
        <Coordinate Order="3" X="768" Y="1024" />
      </Coordinates>
    </Annotation>
    <Annotation Name="pen" Type="Rectangle" PartOfGroup="Pen">
      <Coordinates>
        <Coordinate Order="0" X="1700" Y="100" />
        <Coordinate Order="1" X="1800" Y="100" />
        <Coordinate Order="2" X="1800" Y="200" />
        <Coordinate Order="3" X="1700" Y="200" />
      </Coordinates>
    </Annotation>
  </Annotations>
  <AnnotationGroups>
    <Group Name="_0" PartOfGroup="None" Color="#FF0000"><Attributes /></Group>
    <Group Name="Pen" PartOfGroup="None" Color="#0000FF"><Attributes /></Group>
  </AnnotationGroups>
</ASAP_Annotations>
)";

} // namespace icmil::test
