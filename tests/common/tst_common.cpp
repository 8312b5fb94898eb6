// SPDX-License-Identifier: GPL-3.0-or-later
// core/common: the one atomic file write, the one number formatter, the one GeoJSON polygon writer.

#include "common/colormaptable.h"
#include "common/geojsonpolygonwriter.h"
#include "common/numberformat.h"
#include "common/partialfile.h"
#include "common/slidetestsupport.h"

#include <QtTest>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace icmil;
namespace fs = std::filesystem;

namespace {

std::string readText(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

class TestCommon : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void numbersAreFormattedOneWay();
    void atomicWriteReplacesWholeOrNotAtAll();
    void partialFileIsRemovedUnlessCommitted();
    void abandonRemovesPartialFilesAndStopsEveryWriter();
    void geoJsonPolygonsAreClosedWithHolesAfterTheOuterRing();
    void colormapsAreTablesFoundByName();
};

void TestCommon::numbersAreFormattedOneWay()
{
    QCOMPARE(formatShortest(0.1), std::string("0.1"));
    QCOMPARE(formatShortest(2.0), std::string("2"));
    QCOMPARE(std::stod(formatShortest(1.0 / 3.0)), 1.0 / 3.0); // reads back exactly
    QCOMPARE(formatSignificant(0.8123456), std::string("0.812346"));
    QCOMPARE(formatSignificant(2.0), std::string("2"));
    QCOMPARE(formatSignificant(1e6), std::string("1e+06"));
    QCOMPARE(formatSignificant(0.123456789, 3), std::string("0.123"));
    QCOMPARE(formatFixed(0.8151, 2), std::string("0.82"));
    QCOMPARE(formatFixed(12.0, 1), std::string("12.0"));
    QCOMPARE(formatFixed(-0.5, 0), std::string("-0")); // printf's rounding (to even)
    QCOMPARE(formatShortest(std::numeric_limits<double>::infinity()), std::string("inf"));
    std::string out = "x=";
    appendShortest(out, 1.5);
    QCOMPARE(out, std::string("x=1.5"));
}

void TestCommon::atomicWriteReplacesWholeOrNotAtAll()
{
    const fs::path dir = test::scratchDir("tst_common") / "atomic";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path file = dir / "settings.json";
    writeFileAtomically(file, "first");
    QCOMPARE(readText(file), std::string("first"));
    writeFileAtomically(file, "second, longer");
    QCOMPARE(readText(file), std::string("second, longer"));
    QVERIFY(!fs::exists(dir / "settings.json.partial"));

    // A folder that cannot be written: one sentence naming the file and the cause, the old file kept.
    if (::geteuid() != 0) { // root writes anywhere; the missing folder below fails for everyone
        ::chmod(dir.c_str(), 0500);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, writeFileAtomically(file, "third"));
        ::chmod(dir.c_str(), 0700);
    }
    try {
        writeFileAtomically(dir / "missing" / "x.json", "x");
        QFAIL("wrote into a folder that does not exist");
    } catch (const std::runtime_error &e) {
        const std::string message = e.what();
        QVERIFY2(message.rfind("Cannot write '" + (dir / "missing" / "x.json").string() + "': ", 0) == 0, message.c_str());
        QVERIFY2(message.find("No such file or directory") != std::string::npos, message.c_str());
    }
    QCOMPARE(readText(file), std::string("second, longer"));
}

void TestCommon::partialFileIsRemovedUnlessCommitted()
{
    const fs::path dir = test::scratchDir("tst_common") / "partial";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path file = dir / "slide.tif";
    {
        PartialFile partial(file);
        partial.touch();
        QVERIFY(fs::exists(partial.partialPath()));
        QCOMPARE(partial.partialPath(), fs::path(file.string() + ".partial"));
    } // cancelled: nothing is left
    QVERIFY(!fs::exists(file.string() + ".partial"));
    QVERIFY(!fs::exists(file));
    {
        PartialFile partial(file);
        partial.write("pyramid");
        QVERIFY(!fs::exists(file)); // untouched until commit
        partial.commit();
    }
    QCOMPARE(readText(file), std::string("pyramid"));
}

// abandonPartialFiles() is for a process about to _Exit (the CLI's second Ctrl-C, SIGTERM after
// its grace) and cannot be undone, so it runs in a child process.
void TestCommon::abandonRemovesPartialFilesAndStopsEveryWriter()
{
    const fs::path dir = test::scratchDir("tst_common") / "abandon";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        int failures = 0;
        const auto refused = [&failures](const auto &action, const std::string &expected) {
            try {
                action();
                failures |= 1;
            } catch (const std::runtime_error &e) {
                if (e.what() != expected)
                    failures |= 2;
            }
        };
        PartialFile done(dir / "done.json");
        done.write("kept");
        done.commit();
        PartialFile half(dir / "half.tif");
        half.write("half a pyramid");
        abandonPartialFiles();
        if (fs::exists(dir / "half.tif.partial"))
            failures |= 4;
        refused([&half] { half.write("more"); }, "the process is stopping");
        refused([&half] { half.commit(); }, "the process is stopping");
        refused([&dir] { PartialFile(dir / "later.csv").touch(); }, "the process is stopping");
        refused([&dir] { writeFileAtomically(dir / "state.json", "{}"); },
                "Cannot write '" + (dir / "state.json").string() + "': the process is stopping");
        std::_Exit(failures);
    }
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status));
    QCOMPARE(WEXITSTATUS(status), 0);
    QCOMPARE(readText(dir / "done.json"), std::string("kept")); // what was committed stays
    std::vector<std::string> left;
    for (const auto &entry : fs::directory_iterator(dir))
        left.push_back(entry.path().filename().string());
    QCOMPARE(left, std::vector<std::string>{"done.json"}); // no half file, nothing new
}

void TestCommon::geoJsonPolygonsAreClosedWithHolesAfterTheOuterRing()
{
    QCOMPARE(GeoJsonPolygonWriter().text(), std::string("{\"type\":\"FeatureCollection\",\"features\":[]}\n"));
    const GeoJsonPolygonWriter::Ring outer{{0, 0}, {10, 0}, {10, 10}};
    const GeoJsonPolygonWriter::Ring hole{{2, 2}, {3.5, 2}, {3, 3}};
    const GeoJsonPolygonWriter::Ring empty;
    GeoJsonPolygonWriter writer;
    writer.add({&outer, &empty, &hole}, R"({"name":"a"})");
    writer.add({&empty}, R"({"name":"skipped"})");
    writer.add({&hole}, R"({"name":"b"})");
    QCOMPARE(writer.text(),
             std::string("{\"type\":\"FeatureCollection\",\"features\":[\n"
                         "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                         "[[[0,0],[10,0],[10,10],[0,0]],[[2,2],[3.5,2],[3,3],[2,2]]]},\"properties\":{\"name\":\"a\"}},\n"
                         "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                         "[[[2,2],[3.5,2],[3,3],[2,2]]]},\"properties\":{\"name\":\"b\"}}\n]}\n"));
}

void TestCommon::colormapsAreTablesFoundByName()
{
    QCOMPARE(colormapNames(), (std::vector<std::string>{"viridis", "turbo", "jet", "coolwarm"}));
    const ColormapTable &viridis = colormapTable("Viridis");
    QCOMPARE(viridis.at(0.0), (ColormapTable::Rgb{68, 1, 84})); // matplotlib's ends
    QCOMPARE(viridis.at(1.0), (ColormapTable::Rgb{253, 231, 37}));
    QCOMPARE(ColormapTable::indexOf(0.5), 128); // round(127.5)
    QCOMPARE(ColormapTable::indexOf(-1.0), 0);
    QCOMPARE(ColormapTable::indexOf(std::numeric_limits<double>::quiet_NaN()), 0);
    QCOMPARE(ColormapTable::indexOf(2.0), 255);
    QCOMPARE(colormapTable("coolwarm").rgb.front(), (ColormapTable::Rgb{59, 76, 192})); // Moreland's blue to red
    QCOMPARE(colormapTable("coolwarm").rgb.back(), (ColormapTable::Rgb{180, 4, 38}));
    QVERIFY(findColormapTable("rainbow") == nullptr);
    try {
        colormapTable("rainbow");
        QFAIL("no error");
    } catch (const std::invalid_argument &e) {
        QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("Unknown colormap 'rainbow' (known: viridis, turbo, jet, coolwarm)"));
    }
}

QTEST_GUILESS_MAIN(TestCommon)
#include "tst_common.moc"
