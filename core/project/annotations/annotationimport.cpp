// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/annotations/annotationimport.h"

#include "common/asciicase.h"
#include "project/annotations/qupathoffset.h"
#include "project/features/featurestore.h"
#include "project/training/attentionstore.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "slide/io/slidesource.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

bool isAnnotationFile(const fs::path &path)
{
    const std::string extension = asciiLower(path.extension().string());
    return extension == ".geojson" || extension == ".json" || extension == ".xml";
}

// Whether a feature file's patches were chosen by annotations (its tissue settings name classes).
bool chosenByAnnotations(const fs::path &featureFile)
{
    try {
        const nlohmann::json settings = nlohmann::json::parse(describeFeatureFile(featureFile).attributes.tissueSettings, nullptr, false);
        return settings.is_object() && (settings.contains("roi") || settings.contains("exclude"));
    } catch (const std::exception &) {
        return false;
    }
}

std::array<double, 4> boundsOf(const PolygonRings &polygon)
{
    std::array<double, 4> b{1e300, 1e300, -1e300, -1e300};
    for (const Ring &ring : polygon)
        for (const auto &[x, y] : ring) {
            b[0] = std::min(b[0], x);
            b[1] = std::min(b[1], y);
            b[2] = std::max(b[2], x);
            b[3] = std::max(b[3], y);
        }
    return b;
}

// Whether segments p1-p2 and q1-q2 cross (proper or touching).
bool segmentsMeet(double ax, double ay, double bx, double by, double cx, double cy, double dx, double dy)
{
    auto cross
        = [](double ox, double oy, double px, double py, double qx, double qy) { return (px - ox) * (qy - oy) - (py - oy) * (qx - ox); };
    const double d1 = cross(cx, cy, dx, dy, ax, ay), d2 = cross(cx, cy, dx, dy, bx, by);
    const double d3 = cross(ax, ay, bx, by, cx, cy), d4 = cross(ax, ay, bx, by, dx, dy);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return true;
    auto onSegment = [](double ox, double oy, double px, double py, double qx, double qy) {
        return std::min(ox, px) <= qx && qx <= std::max(ox, px) && std::min(oy, py) <= qy && qy <= std::max(oy, py);
    };
    return (d1 == 0 && onSegment(cx, cy, dx, dy, ax, ay)) || (d2 == 0 && onSegment(cx, cy, dx, dy, bx, by))
        || (d3 == 0 && onSegment(ax, ay, bx, by, cx, cy)) || (d4 == 0 && onSegment(ax, ay, bx, by, dx, dy));
}

// Whether the square [x, x + s] x [y, y + s] and the polygon share any point.
bool touches(const PolygonRings &polygon, const std::array<double, 4> &bounds, double x, double y, double s)
{
    if (bounds[2] < x || bounds[0] > x + s || bounds[3] < y || bounds[1] > y + s)
        return false;
    if (polygonContains(polygon, x + s / 2, y + s / 2) || polygonContains(polygon, x, y) || polygonContains(polygon, x + s, y)
        || polygonContains(polygon, x, y + s) || polygonContains(polygon, x + s, y + s))
        return true;
    const double corners[5][2] = {{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}, {x, y}};
    for (const Ring &ring : polygon) {
        for (std::size_t i = 0, n = ring.size(); i < n; ++i) {
            const auto &a = ring[i];
            const auto &b = ring[(i + 1) % n];
            if (a[0] >= x && a[0] <= x + s && a[1] >= y && a[1] <= y + s)
                return true; // a vertex inside the square
            for (int e = 0; e < 4; ++e)
                if (segmentsMeet(a[0], a[1], b[0], b[1], corners[e][0], corners[e][1], corners[e + 1][0], corners[e + 1][1]))
                    return true;
        }
    }
    return false;
}

} // namespace

std::size_t AnnotationImportReport::importedCount() const
{
    return static_cast<std::size_t>(
        std::count_if(entries.begin(), entries.end(), [](const AnnotationImportEntry &e) { return e.imported; }));
}

fs::path annotationFile(const fs::path &projectRoot, const std::string &slideId)
{
    return projectRoot / "annotations" / (slideId + ".geojson");
}

namespace {

// "tumor" and "tumour" name the same class.
std::string canonicalClass(const std::string &name)
{
    std::string lower = asciiLower(name);
    if (lower == "tumour")
        lower = "tumor";
    return lower;
}

} // namespace

bool hasAnnotationClass(const AnnotationSet &set, const std::string &className)
{
    const std::string wanted = canonicalClass(className);
    return std::any_of(set.annotations.begin(), set.annotations.end(), [&](const Annotation &a) {
        return a.kind != Annotation::Kind::Exclusion && canonicalClass(a.className) == wanted && !a.polygons.empty();
    });
}

std::vector<int> annotatedPatchLabels(const AnnotationSet &set, const std::string &className,
                                      const std::vector<std::array<std::int64_t, 2>> &coords, std::int64_t patchSizeLevel0)
{
    // The set's own spellings of the class (tumor / Tumour ...): --roi with them is exactly this.
    const std::string wanted = canonicalClass(className);
    std::vector<std::string> spellings;
    for (const Annotation &a : set.annotations)
        if (canonicalClass(a.className) == wanted && std::find(spellings.begin(), spellings.end(), a.className) == spellings.end())
            spellings.push_back(a.className);
    std::vector<int> labels(coords.size(), 0);
    if (spellings.empty())
        return labels;
    const AnnotationPatchFilter inside(set, spellings, {});
    const auto size = static_cast<double>(patchSizeLevel0);
    for (std::size_t i = 0; i < coords.size(); ++i)
        labels[i] = inside.keeps(static_cast<double>(coords[i][0]), static_cast<double>(coords[i][1]), size) ? 1 : 0;
    return labels;
}

LocalisationScore localiseAgainstAnnotations(const fs::path &projectRoot, const fs::path &attentionDir, const std::string &className,
                                             const std::vector<std::string> &slideIds)
{
    std::vector<std::string> ids = slideIds;
    std::error_code ec;
    if (ids.empty())
        for (const fs::directory_entry &entry : fs::directory_iterator(projectRoot / "annotations", ec))
            if (entry.path().extension() == ".geojson")
                ids.push_back(entry.path().stem().string());
    std::sort(ids.begin(), ids.end());
    LocalisationAccumulator accumulator;
    for (const std::string &slideId : ids) {
        const fs::path annotations = annotationFile(projectRoot, slideId);
        const fs::path attention = attentionDir / (slideId + ".h5");
        if (!fs::exists(annotations, ec) || !fs::exists(attention, ec))
            continue;
        const AnnotationSet set = readProjectAnnotations(annotations);
        if (!hasAnnotationClass(set, className))
            continue;
        const SlideAttention scores = readAttentionFile(attention);
        accumulator.add(annotatedPatchLabels(set, className, scores.coords, scores.patchSizeLevel0.value_or(256)),
                        std::vector<double>(scores.attention.begin(), scores.attention.end()));
    }
    return accumulator.score();
}

std::vector<std::string> classList(const std::string &text)
{
    std::vector<std::string> classes;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto first = item.find_first_not_of(" \t");
        const auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos)
            classes.push_back(item.substr(first, last - first + 1));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return classes;
}

AnnotationImportReport importAnnotations(const fs::path &projectRoot, const fs::path &source, const std::vector<SlideEntry> &slides)
{
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(source, ec)) {
        for (const fs::directory_entry &entry : fs::directory_iterator(source, ec))
            if (entry.is_regular_file(ec) && isAnnotationFile(entry.path()))
                files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        if (files.empty())
            throw ProjectError("No annotation files (.geojson, .json, .xml) in '" + source.string() + "'");
    } else if (fs::is_regular_file(source, ec)) {
        files.push_back(source);
    } else {
        throw ProjectError("Cannot import annotations from '" + source.string() + "': no such file or folder");
    }

    std::map<std::string, const SlideEntry *> byId;
    for (const SlideEntry &slide : slides)
        byId.emplace(slide.slideId, &slide);
    const ProjectLayout layout(projectRoot);
    AnnotationImportReport report;
    std::map<std::string, std::size_t> importedFor; // slide -> entry that imported it
    for (const fs::path &file : files) {
        AnnotationImportEntry entry;
        entry.file = file;
        // slide_001.geojson, and QuPath's slide_001.svs.geojson
        std::string stem = file.stem().string();
        if (!byId.contains(stem) && byId.contains(fs::path(stem).stem().string()))
            stem = fs::path(stem).stem().string();
        const auto slide = byId.find(stem);
        if (slide == byId.end()) {
            entry.reason = "no slide '" + stem + "' in the project";
            report.entries.push_back(std::move(entry));
            continue;
        }
        entry.slideId = stem;
        if (const auto earlier = importedFor.find(stem); earlier != importedFor.end()) {
            entry.reason = "slide '" + stem + "' already has annotations from '" + report.entries[earlier->second].file.filename().string()
                + "' in this import";
            report.entries.push_back(std::move(entry));
            continue;
        }
        try {
            const std::unique_ptr<slide::SlideSource> opened = slide::SlideSource::open(slide->second->path);
            AnnotationFrame frame;
            frame.width = opened->level(0).width;
            frame.height = opened->level(0).height;
            if (asciiLower(file.extension().string()) != ".xml")
                frame.offset = quPathOffset(*opened);
            const AnnotationSet set = readAnnotationFile(file, frame);
            if (set.annotations.empty())
                throw ProjectError("Cannot read annotations from '" + file.string() + "': it holds no annotations");
            writeProjectAnnotations(annotationFile(projectRoot, stem), set);
            // The slide's patches (and the features of patches chosen by annotations) go: the next
            // tiling uses these annotations.
            fs::remove(layout.patchFile(stem), ec);
            for (const fs::directory_entry &encoder : fs::directory_iterator(projectRoot / "features", ec)) {
                const fs::path features = layout.featureFile(encoder.path().filename().string(), stem);
                if (fs::exists(features, ec) && chosenByAnnotations(features))
                    fs::remove(features, ec);
            }
            entry.imported = true;
            entry.annotations = set.annotations.size();
            entry.classNames = set.classNames();
            importedFor[stem] = report.entries.size();
        } catch (const std::exception &error) {
            entry.reason = error.what();
        }
        report.entries.push_back(std::move(entry));
    }
    return report;
}

AnnotationPatchFilter::AnnotationPatchFilter(const AnnotationSet &set, std::vector<std::string> roiClasses,
                                             std::vector<std::string> excludeClasses)
    : m_roiClasses(std::move(roiClasses)), m_excludeClasses(std::move(excludeClasses))
{
    auto in = [](const std::vector<std::string> &classes, const std::string &name) {
        return std::find(classes.begin(), classes.end(), name) != classes.end();
    };
    for (const Annotation &a : set.annotations) {
        for (const PolygonRings &polygon : a.polygons) {
            const Shape shape{polygon, boundsOf(polygon)};
            if (a.kind == Annotation::Kind::Exclusion)
                m_exclusion.push_back(shape);
            if (a.kind != Annotation::Kind::Exclusion && in(m_roiClasses, a.className))
                m_roi.push_back(shape);
            if (in(m_excludeClasses, a.className))
                m_exclude.push_back(shape);
        }
    }
}

bool AnnotationPatchFilter::keeps(double x, double y, double size) const
{
    const double cx = x + size / 2, cy = y + size / 2;
    auto containsCentre = [&](const Shape &shape) {
        return cx >= shape.bounds[0] && cx <= shape.bounds[2] && cy >= shape.bounds[1] && cy <= shape.bounds[3]
            && polygonContains(shape.polygon, cx, cy);
    };
    if (!m_roiClasses.empty()) {
        if (std::none_of(m_roi.begin(), m_roi.end(), containsCentre))
            return false;
        if (std::any_of(m_exclusion.begin(), m_exclusion.end(), containsCentre))
            return false;
    }
    for (const Shape &shape : m_exclude)
        if (touches(shape.polygon, shape.bounds, x, y, size))
            return false;
    return true;
}

} // namespace icmil::project
