// SPDX-License-Identifier: GPL-3.0-or-later
// ProjectCatalog: the app's view of a project (settings file, labels, slide files, newest
// predictions) and the row-by-row check of a new project's labels CSV.
#include "project/training/predictiontable.h"
#include "project/projectcatalog.h"
#include "project/dataset/slidelist.h"

#include "common/slidetestsupport.h"
#include "featuretestsupport.h"

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace icmil::project;
using icmil::test::projectErrorOf;

namespace {

// A fresh folder per test function (CTest gives the whole test one scratch folder).
fs::path freshDir(const std::string &name)
{
    const fs::path dir = icmil::test::scratchDir("projectcatalog") / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void writeText(const fs::path &path, const std::string &text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

// Slide files only need to exist with a slide extension for the catalogue.
void touchSlides(const fs::path &dir, std::initializer_list<const char *> ids)
{
    for (const char *id : ids)
        writeText(dir / (std::string(id) + ".svs"), "x");
}

PredictionTable predictions(const std::string &run, std::initializer_list<std::pair<const char *, double>> rows)
{
    PredictionTable table;
    table.run = run;
    table.encoder = "tiny-cnn";
    table.modelType = "abmil";
    table.classNames = {"normal", "tumor"};
    for (const auto &[id, p1] : rows) {
        SlidePredictionRow row;
        row.slideId = id;
        row.probabilities = {1.0 - p1, p1};
        row.predicted = p1 >= 0.5 ? 1 : 0;
        row.split = "test";
        table.rows.push_back(row);
    }
    return table;
}

} // namespace

class TstProjectCatalog : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void checksTheLabelsRowByRow()
    {
        const fs::path dir = freshDir("check");
        touchSlides(dir / "slides", {"a", "b", "d"});
        writeText(dir / "labels.csv",
                  "case_id,slide_id,label,split\n"
                  "c1,a,normal,train\n"
                  "\n"
                  "c2,b,tumour,train\n"  // unknown label (line 4)
                  "c3,c,tumor,val\n"     // no slide file (line 5)
                  "c4,a,tumor,test\n"    // duplicate (line 6)
                  "c5,d,tumor,later\n"); // bad split (line 7)
        const std::vector<LabelsIssue> issues = checkProjectInputs(dir / "slides", dir / "labels.csv", {"normal", "tumor"});
        QCOMPARE(issues.size(), std::size_t{4});
        QCOMPARE(issues[0].line, 4);
        QCOMPARE(issues[0].message, std::string("slide 'b' has unknown label 'tumour' (expected normal, tumor)"));
        QCOMPARE(issues[1].line, 5);
        QCOMPARE(issues[1].message, "no slide file for 'c' in '" + (dir / "slides").string() + "'");
        QVERIFY(issues[0].blocking);
        QVERIFY(!issues[1].blocking); // the row is only left out
        QCOMPARE(issues[2].line, 6);
        QCOMPARE(issues[2].message, std::string("duplicate slide_id 'a' (first on line 2)"));
        QCOMPARE(issues[3].line, 7);
        // Without class names any label goes, but 'tumour' beside 'tumor' is pointed out.
        const std::vector<LabelsIssue> open = checkProjectInputs(dir / "slides", dir / "labels.csv");
        QCOMPARE(open.size(), std::size_t{4});
        QCOMPARE(open[0].line, 4);
        QVERIFY(open[0].warning && !open[0].blocking);
        QCOMPARE(open[0].message,
                 std::string("label 'tumour' (1 slide(s)) is close to 'tumor' (1): if it is a typo, it makes a class of its own"));
        QCOMPARE(projectErrorOf([&] { checkProjectInputs(dir / "nowhere", dir / "labels.csv"); }).toStdString(),
                 "The slides folder '" + (dir / "nowhere").string() + "' does not exist");
    }

    void unreadableSlidesAreLeftOutAndCheckedOncePerFile()
    {
        // The touched "slides" are 1-byte files: none opens. Each is a left-out row (not
        // blocking), and a cache opens each file once until it changes.
        const fs::path dir = freshDir("readcheck");
        touchSlides(dir / "slides", {"a", "b"});
        writeText(dir / "labels.csv", "case_id,slide_id,label\nc1,a,normal\nc2,b,tumor\n");
        int probes = 0;
        SlideReadCache cache([&](const fs::path &path) {
            ++probes;
            return slideReadProblem(path);
        });
        const auto check = [&] {
            return checkProjectInputs(dir / "slides", dir / "labels.csv", {}, [&](const fs::path &file) { return cache.problem(file); });
        };
        const std::vector<LabelsIssue> issues = check();
        QCOMPARE(issues.size(), std::size_t{2});
        QCOMPARE(issues[0].line, 2);
        QVERIFY(!issues[0].blocking && !issues[0].warning);
        QVERIFY2(issues[0].message.starts_with("slide 'a' cannot be read: Cannot open slide '"), issues[0].message.c_str());
        QCOMPARE(probes, 2);
        QCOMPARE(check().size(), std::size_t{2});
        QCOMPARE(probes, 2); // unchanged files: not opened again
        writeText(dir / "slides" / "b.svs", "still not a slide");
        QCOMPARE(check().size(), std::size_t{2});
        QCOMPARE(probes, 3); // the changed one only
        // Without a reader, files are not opened at all.
        QVERIFY(checkProjectInputs(dir / "slides", dir / "labels.csv").empty());
    }

    void settingsRoundTripRelativeToTheRoot()
    {
        const fs::path root = freshDir("settings");
        const fs::path outside = freshDir("settings-data");
        ProjectSettings settings;
        settings.slides = root / "slides";
        settings.labelsCsv = outside / "labels.csv";
        settings.classNames = {"normal", "tumor"};
        writeProjectSettings(root, settings);
        std::ifstream in(projectSettingsFile(root));
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY(text.find("\"slides\": \"slides\"") != std::string::npos); // relative inside the root
        const ProjectSettings back = readProjectSettings(root);
        QCOMPARE(back.slides, root / "slides");
        QCOMPARE(back.labelsCsv, (outside / "labels.csv").lexically_normal());
        QCOMPARE(back.classNames, settings.classNames);

        writeText(projectSettingsFile(root), "{\"format\": 7}");
        QCOMPARE(projectErrorOf([&] { readProjectSettings(root); }).toStdString(),
                 "Cannot read project settings from '" + projectSettingsFile(root).string()
                     + "': not an ICMIL Studio project file of format 1");
        writeText(projectSettingsFile(root), "{not json");
        QVERIFY(projectErrorOf([&] { readProjectSettings(root); }).startsWith(QStringLiteral("Cannot read project settings from")));
    }

    void aCliProjectOpensWithoutASettingsFile()
    {
        const fs::path root = freshDir("cli");
        touchSlides(root / "slides", {"s1", "s2", "extra"});
        writeText(root / "labels.csv", "case_id,slide_id,label,split\nc1,s1,normal,train\nc2,s2,tumor,test\n");
        const ProjectCatalog catalog = loadProjectCatalog(root);
        QCOMPARE(catalog.settings.labelsCsv, root / "labels.csv");
        QCOMPARE(catalog.slides.size(), std::size_t{3});
        QCOMPARE(catalog.slides[0].slideId, std::string("s1"));
        QCOMPARE(catalog.slides[0].label, std::string("normal"));
        QCOMPARE(catalog.slides[1].split, std::string("test"));
        QCOMPARE(catalog.slides[1].path, root / "slides" / "s2.svs");
        QCOMPARE(catalog.slides[2].slideId, std::string("extra")); // a slide file without a row: unlabelled
        QVERIFY(catalog.slides[2].label.empty());
        QVERIFY(catalog.labelIssues.empty());
        QVERIFY(catalog.predictionRun.empty());
        QCOMPARE(projectErrorOf([&] { loadProjectCatalog(root / "missing"); }).toStdString(),
                 "The project folder '" + (root / "missing").string() + "' does not exist");
    }

    void aCliProjectRecordsSlidesOutsideIt()
    {
        // `icmil run --project P --slides DS` with DS outside P: P opens with DS's slides.
        const fs::path root = freshDir("cli-outside");
        const fs::path dataset = freshDir("cli-outside-data");
        touchSlides(dataset / "slides", {"s1", "s2"});
        writeText(dataset / "labels.csv", "case_id,slide_id,label\nc1,s1,normal\nc2,s2,tumor\n");
        QVERIFY(loadProjectCatalog(root).slides.empty());  // what the app showed before
        QVERIFY(!slidesMissing(loadProjectCatalog(root))); // an empty folder: nothing is missing yet
        fs::create_directories(root / "icmil" / "icmil");
        QVERIFY(slidesMissing(loadProjectCatalog(root))); // a loop ran on slides that are not here: ask
        QVERIFY(recordProjectInputs(root, dataset, dataset / "labels.csv"));
        const ProjectCatalog catalog = loadProjectCatalog(root);
        QVERIFY(!slidesMissing(catalog));
        QCOMPARE(catalog.slides.size(), std::size_t{2});
        QCOMPARE(catalog.slides[1].label, std::string("tumor"));
        QCOMPARE(catalog.slides[1].path, dataset / "slides" / "s2.svs");
        // The same inputs again (a trailing slash, a relative path): nothing written.
        const auto written = fs::last_write_time(projectSettingsFile(root));
        QVERIFY(!recordProjectInputs(root, dataset.string() + "/", dataset / "." / "labels.csv"));
        QCOMPARE(fs::last_write_time(projectSettingsFile(root)), written);
        // Other labels: recorded, the project's class names kept.
        ProjectSettings settings = readProjectSettings(root);
        settings.classNames = {"normal", "tumor"};
        writeProjectSettings(root, settings);
        writeText(dataset / "other.csv", "case_id,slide_id,label\nc1,s1,tumor\n");
        QVERIFY(recordProjectInputs(root, dataset, dataset / "other.csv"));
        QCOMPARE(readProjectSettings(root).labelsCsv, dataset / "other.csv");
        QCOMPARE(readProjectSettings(root).classNames, settings.classNames);

        // The dataset moved: labelled rows, not one slide file.
        fs::rename(dataset / "slides", dataset / "moved");
        QVERIFY(slidesMissing(loadProjectCatalog(root)));
    }

    void theNewestPredictionsAreShown()
    {
        const fs::path root = freshDir("predictions");
        touchSlides(root / "slides", {"s1", "s2"});
        writeText(root / "labels.csv", "case_id,slide_id,label\nc1,s1,normal\nc2,s2,tumor\n");
        fs::create_directories(root / "runs" / "old");
        fs::create_directories(root / "runs" / "new");
        writePredictionsJson(root / "runs" / "old" / "predictions.json", predictions("old", {{"s1", 0.9}, {"s2", 0.9}}));
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // distinct modification times
        writePredictionsJson(root / "runs" / "new" / "predictions.json", predictions("new", {{"s2", 0.8}}));
        const ProjectCatalog catalog = loadProjectCatalog(root);
        QCOMPARE(catalog.predictionRun, std::string("new"));
        QCOMPARE(catalog.predictionEncoder, std::string("tiny-cnn"));
        QVERIFY(!catalog.slides[0].prediction);
        QVERIFY(catalog.slides[1].prediction.has_value());
        QCOMPARE(catalog.slides[1].prediction->predicted, std::string("tumor"));
        QCOMPARE(catalog.slides[1].prediction->probabilities[1], 0.8);
        QCOMPARE(catalog.slides[1].split, std::string("test")); // the CSV has no split: the run's
        QVERIFY(catalog.slides[0].split.empty());

        // A damaged predictions file is one listed problem; the slides are still there.
        writeText(root / "runs" / "new" / "predictions.json", "{broken");
        const ProjectCatalog damaged = loadProjectCatalog(root);
        QCOMPARE(damaged.slides.size(), std::size_t{2});
        QCOMPARE(damaged.labelIssues.size(), std::size_t{1});
        QVERIFY(damaged.labelIssues[0].message.find("Cannot read predictions from") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TstProjectCatalog)
#include "tst_projectcatalog.moc"
