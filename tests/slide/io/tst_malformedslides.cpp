// SPDX-License-Identifier: GPL-3.0-or-later
// The bad-input slide corpus (tests/fixtures/malformed) through SlideSource::open: each file opens
// with its one exact error (or, a plain TIFF, with the image backend), quietly: no library writes
// to stderr. The CLI, the app and a project run are checked on the same files in tests/app,
// tests/ui/shell.
#include "common/slidetestsupport.h"
#include "fixtures/malformed/malformedcorpus.h"
#include "slide/io/slidesource.h"
#include "slide/io/tiffstructure.h"
#include "slide/slideerror.h"

#include <QtTest>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

using namespace icmil::slide;
using icmil::testing::MalformedFile;
namespace fs = std::filesystem;

namespace {

// What the process writes to stderr (file descriptor 2) while it lives.
class StderrCapture {
public:
    explicit StderrCapture(fs::path file) : m_file(std::move(file))
    {
        std::fflush(stderr);
        m_saved = ::dup(2);
        const int fd = ::open(m_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    StderrCapture(const StderrCapture &) = delete;
    StderrCapture &operator=(const StderrCapture &) = delete;

    std::string text()
    {
        restore();
        std::ifstream in(m_file, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }

private:
    void restore()
    {
        if (m_saved < 0)
            return;
        std::fflush(stderr);
        ::dup2(m_saved, 2);
        ::close(m_saved);
        m_saved = -1;
    }
    fs::path m_file;
    int m_saved = -1;
};

// A one-directory little-endian classic TIFF whose single strip lies past the end of the file, as
// the offsets of an NDPI past 4 GiB look once wrapped to 32 bits; `ndpi` adds NDPI's tag 65420.
std::string tiffWithStripPastTheEnd(bool ndpi)
{
    std::string bytes = {'I', 'I', 42, 0, 8, 0, 0, 0};
    const auto put = [&bytes](std::uint64_t value, int length) {
        for (int i = 0; i < length; ++i)
            bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
    };
    const std::vector<std::pair<std::uint16_t, std::uint32_t>> entries = {{256, 1}, {257, 1}, {273, 0xfffff000u}, {279, 3}, {65420, 1}};
    put(ndpi ? entries.size() : entries.size() - 1, 2);
    for (std::size_t i = 0; i < (ndpi ? entries.size() : entries.size() - 1); ++i) {
        put(entries[i].first, 2);
        put(4, 2); // LONG
        put(1, 4);
        put(entries[i].second, 4);
    }
    put(0, 4); // no next directory
    return bytes;
}

} // namespace

class TstMalformedSlides : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    icmil::testing::MalformedCorpus m_corpus;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = icmil::test::scratchDir("tst_malformedslides");
        fs::remove_all(m_dir);
        m_corpus = icmil::testing::writeMalformedCorpus(m_dir / "corpus");
        QCOMPARE(m_corpus.files.size(), std::size_t{15});
    }

    void intactSlideOpensWithOpenSlide()
    {
        const auto source = SlideSource::open(m_corpus.intactSlide);
        QCOMPARE(QString::fromStdString(source->backendName()), QStringLiteral("openslide"));
        QCOMPARE(source->levelCount(), 2);
        QCOMPARE(QString::fromStdString(tiffStructureProblem(m_corpus.intactSlide)), QString());
    }

    void eachFileOpensWithItsOneError_data()
    {
        QTest::addColumn<int>("index");
        for (std::size_t i = 0; i < m_corpus.files.size(); ++i)
            QTest::newRow(m_corpus.files[i].name.c_str()) << static_cast<int>(i);
    }

    void eachFileOpensWithItsOneError()
    {
        QFETCH(int, index);
        const MalformedFile &file = m_corpus.files[static_cast<std::size_t>(index)];
        const fs::path path = m_dir / "corpus" / file.name;
        QString error;
        std::string backend;
        StderrCapture capture(m_dir / "stderr.txt");
        try {
            const auto source = SlideSource::open(path);
            backend = source->backendName();
            // What the app and a project read first: the coarsest level, whole.
            const LevelInfo &coarsest = source->level(source->levelCount() - 1);
            source->readRegion(source->levelCount() - 1, 0, 0, static_cast<int>(coarsest.width), static_cast<int>(coarsest.height));
        } catch (const SlideError &e) {
            error = QString::fromStdString(e.what());
        }
        const std::string noise = capture.text();
        QVERIFY2(noise.empty(), noise.c_str());
        if (file.opens()) {
            QCOMPARE(error, QString());
            QCOMPARE(QString::fromStdString(backend), QString::fromStdString(file.backend));
        } else {
            QCOMPARE(error, QString::fromStdString(file.error(path)));
        }
    }

    // The structure check runs before OpenSlide sees a file, so it has to know NDPI by its own tag
    // and leave it alone: NDPI's wrapped offsets would look like a cut file.
    void structureCheckLeavesNdpiToOpenSlide()
    {
        const fs::path plain = m_dir / "strip-past-end.tif", ndpi = m_dir / "strip-past-end.ndpi";
        for (const auto &[path, flagged] : {std::pair{plain, false}, std::pair{ndpi, true}}) {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            const std::string bytes = tiffWithStripPastTheEnd(flagged);
            out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        }
        QCOMPARE(QString::fromStdString(tiffStructureProblem(plain)),
                 QStringLiteral("the file is cut short or damaged: the pixels of TIFF directory 1 run past the end of the file; "
                                "copy or download it again"));
        QCOMPARE(QString::fromStdString(tiffStructureProblem(ndpi)), QString());
    }
};

QTEST_GUILESS_MAIN(TstMalformedSlides)
#include "tst_malformedslides.moc"
