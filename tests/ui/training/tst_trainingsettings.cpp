// SPDX-License-Identifier: GPL-3.0-or-later
// One source for the ICMIL loop's defaults (project/loop/loopdefaults.h): the training panel's
// untouched settings and `icmil run` without options are the same loop, and so are the demo's
// loop in the app ("Try the demo") and in `icmil demo`.

#include "app/cli/commands.h"
#include "project/demorecipe.h"
#include "project/loop/icmilloop.h"
#include "project/loop/icmilloopstate.h"
#include "project/loop/loopdefaults.h"
#include "ui/training/trainingsettings.h"

#include <QtTest>

using namespace icmil;
namespace fs = std::filesystem;

namespace {

// Every setting a loop runs with: the ones saved with it (which decide its results) and the ones
// that only decide its speed or its folders.
QString describe(const project::IcmilLoopConfig &c)
{
    const project::IcmilLoop loop(c);
    std::string text = loop.settingsJson();
    text += "\nname " + c.name + " iterations " + std::to_string(c.iterations) + " device " + c.device;
    text += "\nproject " + c.projectRoot.string() + " slides " + c.slides.string() + " labels " + c.labelsCsv.string();
    text += "\nextraction " + c.extraction.projectDir.string() + " " + c.extraction.device + " batch "
        + std::to_string(c.extraction.batchSize) + " readers " + std::to_string(c.extraction.readerThreads) + " embedder "
        + c.extraction.embedder.name + " preset " + c.extraction.tiling.tissue.presetName;
    text += "\nfine-tuning readers " + std::to_string(c.fineTuning.readerThreads) + " mixed "
        + std::to_string(c.fineTuning.distillation.mixedPrecision) + " distiller seed " + std::to_string(c.fineTuning.distillation.seed);
    text += "\ncalibration " + std::to_string(c.calibrationPatches) + " overwrite " + std::to_string(c.overwrite) + " strict "
        + std::to_string(c.strict) + " shared it0 '" + c.iteration0Encoder + "'";
    return QString::fromStdString(text);
}

cli::RunOptions runOptions(const fs::path &root)
{
    cli::RunOptions options; // `icmil run --project P`
    options.extract.tile.projectDir = root;
    options.extract.tile.slides = root; // what main() makes of a missing --slides
    return options;
}

} // namespace

class TestTrainingSettings : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void panelDefaultsAreIcmilRunDefaults();
    void demoLoopIsTheSameInTheAppAndTheCli();
    void annotationLimitsAreTheSameInTheAppAndTheCli();
    void stainSettingsAreTheSameInTheAppAndTheCli();
    void negativeClassIsTheSameInTheAppAndTheCli();
};

void TestTrainingSettings::negativeClassIsTheSameInTheAppAndTheCli()
{
    // `icmil run --negative-class normal` and the Training dock's field; off by default, and
    // then not in the saved settings at all (loops saved before the setting existed resume).
    const fs::path root = "/data/project";
    cli::RunOptions options = runOptions(root);
    QVERIFY(!describe(cli::loopConfig(options)).contains(QStringLiteral("negative_class")));
    options.negativeClass = "normal";
    const project::IcmilLoopConfig fromCli = cli::loopConfig(options);
    QCOMPARE(fromCli.negativeClass, std::string("normal"));
    ui::TrainingSettings panel;
    panel.projectRoot = root;
    panel.negativeClass = "normal";
    QCOMPARE(describe(panel.loopConfig()), describe(fromCli));
    QVERIFY(describe(fromCli).contains(QStringLiteral("\"negative_class\":\"normal\"")));
    QCOMPARE(ui::TrainingSettings::fromLoopConfig(fromCli, ui::TrainingSettings{}).negativeClass, std::string("normal"));
    // The saved settings give it back, and a loop saved without it has none.
    QCOMPARE(project::loopConfigFromSettings(project::loopSettingsJson(fromCli), project::loopDefaults()).negativeClass,
             std::string("normal"));
    project::IcmilLoopConfig base = project::loopDefaults();
    base.negativeClass = "normal";
    QCOMPARE(project::loopConfigFromSettings(project::loopSettingsJson(project::loopDefaults()), base).negativeClass, std::string());
    // Resuming with another value is refused by name.
    const std::vector<std::string> changes
        = project::loopSettingsChanges(project::loopSettingsJson(project::loopDefaults()), project::loopSettingsJson(fromCli));
    QCOMPARE(changes.size(), std::size_t{1});
    QCOMPARE(changes.front(), std::string("finetune.negative_class was not recorded, now normal"));
}

void TestTrainingSettings::stainSettingsAreTheSameInTheAppAndTheCli()
{
    // `icmil run --stain-norm reinhard --stain-jitter 0.05` and the Training dock's fields.
    const fs::path root = "/data/project";
    cli::RunOptions options = runOptions(root);
    options.extract.stainNorm = "reinhard";
    options.stainJitter = 0.05;
    const project::IcmilLoopConfig fromCli = cli::loopConfig(options);
    QCOMPARE(fromCli.extraction.stain.method, engine::StainMethod::Reinhard);
    ui::TrainingSettings panel;
    panel.projectRoot = root;
    panel.stainMethod = "reinhard";
    panel.stainJitter = 0.05;
    QCOMPARE(describe(panel.loopConfig()), describe(fromCli));
    // A saved loop's reference (a region, with its estimated profile) comes back whole, so the
    // same settings resume it.
    project::IcmilLoopConfig saved = fromCli;
    saved.extraction.stain.referenceSource = "/slides/a.svs@1,2,300,400";
    saved.extraction.stain.reference.labMean = {-0.5, 0.02, 0.01};
    const ui::TrainingSettings back = ui::TrainingSettings::fromLoopConfig(saved, ui::TrainingSettings{});
    QCOMPARE(back.stainReference, saved.extraction.stain.referenceSource);
    QVERIFY(back.loopConfig(saved).extraction.stain == saved.extraction.stain);
    QVERIFY(describe(fromCli).contains(QStringLiteral("\"stain_jitter\":0.05")));
}

void TestTrainingSettings::annotationLimitsAreTheSameInTheAppAndTheCli()
{
    // `icmil run --roi "Tumor, Lymph node" --exclude Pen` and the Training dock's two fields.
    const fs::path root = "/data/project";
    cli::RunOptions options = runOptions(root);
    options.extract.tile.roi = "Tumor, Lymph node";
    options.extract.tile.exclude = "Pen";
    const project::IcmilLoopConfig fromCli = cli::loopConfig(options);
    QCOMPARE(fromCli.extraction.tiling.roiClasses, (std::vector<std::string>{"Tumor", "Lymph node"}));
    ui::TrainingSettings panel;
    panel.projectRoot = root;
    panel.roiClasses = {"Tumor", "Lymph node"};
    panel.excludeClasses = {"Pen"};
    QCOMPARE(describe(panel.loopConfig()), describe(fromCli));
    // A saved loop's limits come back into the form's settings.
    const ui::TrainingSettings back = ui::TrainingSettings::fromLoopConfig(fromCli, ui::TrainingSettings{});
    QCOMPARE(back.roiClasses, fromCli.extraction.tiling.roiClasses);
    QCOMPARE(back.excludeClasses, fromCli.extraction.tiling.excludeClasses);
    // And the loop's saved settings name them (so a changed limit is a changed loop).
    QVERIFY(describe(fromCli).contains(QStringLiteral("\"roi\":[\"Tumor\",\"Lymph node\"]")));
}

void TestTrainingSettings::panelDefaultsAreIcmilRunDefaults()
{
    const fs::path root = "/data/project";
    const project::IcmilLoopConfig fromCli = cli::loopConfig(runOptions(root));

    ui::TrainingSettings panel; // what the panel shows before anyone changes it
    panel.projectRoot = root;
    const project::IcmilLoopConfig app = panel.loopConfig();
    QCOMPARE(describe(app), describe(fromCli));

    project::IcmilLoopConfig defaults = project::loopDefaults();
    defaults.projectRoot = root;
    defaults.slides = root;
    defaults.extraction.projectDir = root;
    QCOMPARE(describe(defaults), describe(fromCli));
}

void TestTrainingSettings::demoLoopIsTheSameInTheAppAndTheCli()
{
    const fs::path root = "/data/demo";
    const project::DemoRecipe recipe = project::demoRecipe(root);

    project::IcmilLoopConfig fromCli = cli::loopConfig(runOptions(root)); // as runDemo runs it
    project::applyDemoRecipe(recipe, fromCli);

    ui::TrainingSettings panel; // as the workspace opens a demo project
    panel.projectRoot = root;
    project::IcmilLoopConfig base = ui::TrainingSettings::defaultLoopConfig();
    panel.applyDemoRecipe(recipe, base);
    QVERIFY(!panel.followDevice);
    QCOMPARE(describe(panel.loopConfig(base)), describe(fromCli));
    // and it is the recipe's loop, not the defaults
    QCOMPARE(fromCli.extraction.tiling.tissue.presetName, recipe.tissuePreset);
    QCOMPARE(fromCli.fineTuning.epochs, recipe.fineTuneEpochs);
    QCOMPARE(fromCli.split.valFraction, recipe.valFraction);
}

QTEST_GUILESS_MAIN(TestTrainingSettings)
#include "tst_trainingsettings.moc"
