// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/trainingsettingsform.h"

#include "project/annotations/annotationimport.h"

#include "slide/tissue/tissuedetectionparams.h"

#include <QAbstractSpinBox>
#include <QCheckBox>
#include <QCoreApplication>
#include <QEvent>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>

#include <algorithm>
#include <limits>

namespace icmil::ui {

namespace {

QDoubleSpinBox *rateBox(double value, double minimum)
{
    auto *box = new QDoubleSpinBox;
    box->setDecimals(6);
    box->setRange(minimum, 1.0);
    box->setSingleStep(1e-5);
    box->setValue(value);
    return box;
}

QSpinBox *countBox(int minimum, int maximum, int value)
{
    auto *box = new QSpinBox;
    box->setRange(minimum, maximum);
    box->setValue(value);
    return box;
}

QWidget *withButton(QWidget *field, QToolButton *button)
{
    auto *box = new QWidget;
    auto *layout = new QHBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(field, 1);
    layout->addWidget(button);
    return box;
}

} // namespace

bool TrainingSettingsForm::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() == QEvent::Wheel) {
        auto *field = qobject_cast<QWidget *>(watched);
        if (field && !field->hasFocus()) {
            // To the form (and on up to the scroll area around it), not to the field.
            QCoreApplication::sendEvent(this, event);
            return true;
        }
    }
    return QGroupBox::eventFilter(watched, event);
}

TrainingSettingsForm::TrainingSettingsForm(QWidget *parent) : QGroupBox(tr("ICMIL loop"), parent)
{
    const TrainingSettings defaults;
    m_model = new QComboBox;
    m_model->setObjectName(QStringLiteral("model"));
    m_model->addItem(QStringLiteral("ABMIL"), QStringLiteral("abmil"));
    m_model->addItem(QStringLiteral("MaxPool"), QStringLiteral("maxpool"));
    m_model->addItem(QStringLiteral("DTFD-MIL"), QStringLiteral("dtfd"));
    m_embedder = new QComboBox;
    m_embedder->setObjectName(QStringLiteral("embedder"));
    m_embedder->setEditable(true);
    m_embedder->addItems({QStringLiteral("tiny-cnn"), QStringLiteral("resnet50-trunc")});
    m_embedder->setToolTip(tr("A built-in embedder, or a TorchScript file (.pt)"));
    auto *embedderBrowse = new QToolButton;
    embedderBrowse->setText(QStringLiteral("…"));
    connect(embedderBrowse, &QToolButton::clicked, this, [this] {
        const QString file
            = QFileDialog::getOpenFileName(this, tr("TorchScript embedder"), m_browseFolder, tr("TorchScript (*.pt *.pth);;All files (*)"));
        if (!file.isEmpty())
            m_embedder->setCurrentText(file);
    });
    m_weights = new QLineEdit;
    m_weights->setObjectName(QStringLiteral("weights"));
    m_weights->setPlaceholderText(tr("random initialisation"));
    m_weights->setToolTip(tr("Weights for a built-in embedder (a torch.save file)"));
    auto *weightsBrowse = new QToolButton;
    weightsBrowse->setText(QStringLiteral("…"));
    connect(weightsBrowse, &QToolButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Embedder weights"), m_browseFolder,
                                                          tr("PyTorch weights (*.pth *.pt *.bin);;All files (*)"));
        if (!file.isEmpty())
            m_weights->setText(file);
    });
    m_iterations = countBox(0, 100, defaults.iterations);
    m_iterations->setToolTip(tr("Fine-tuning rounds K: iterations 0..K are evaluated"));
    m_epochs = countBox(1, 100000, defaults.epochs);
    m_epochs->setObjectName(QStringLiteral("epochs"));
    m_learningRate = rateBox(defaults.learningRate, 0.0);
    m_learningRate->setSpecialValueText(tr("reference (2e-4; DTFD 1e-4)"));
    m_fineTuneLearningRate = rateBox(defaults.fineTuneLearningRate, 1e-6);
    m_fineTuneEpochs = countBox(1, 100000, defaults.fineTuneEpochs);
    m_fineTunePatches = countBox(1, std::numeric_limits<int>::max(), static_cast<int>(defaults.fineTunePatches));
    m_fineTunePatches->setObjectName(QStringLiteral("fineTunePatches"));
    m_device = new QComboBox;
    m_device->addItems({QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda:0")});
    m_tissuePreset = new QComboBox;
    m_tissuePreset->setObjectName(QStringLiteral("tissuePreset"));
    for (const std::string &preset : slide::TissueDetectionParams::presetNames())
        m_tissuePreset->addItem(QString::fromStdString(preset));
    m_tissuePreset->setCurrentText(QString::fromStdString(defaults.tissuePreset));
    m_tissuePreset->setToolTip(tr("CLAM's tissue detection presets, areas in mm\u00b2: default and bwh_resection keep pieces of "
                                  "tissue over 1.64 mm\u00b2, tcga over 0.26, bwh_biopsy over 0.016 (and fainter stain); never "
                                  "more than 1% of the slide, so small slides keep their tissue (icmil run --preset)"));
    m_roiClasses = new QLineEdit;
    m_roiClasses->setObjectName(QStringLiteral("roiClasses"));
    m_roiClasses->setPlaceholderText(tr("all tissue, e.g. Tumor"));
    m_roiClasses->setToolTip(tr("Keep only patches whose centre lies in imported annotations of these classes, comma-separated "
                                "(File > Import annotations; icmil run --roi)"));
    m_excludeClasses = new QLineEdit;
    m_excludeClasses->setObjectName(QStringLiteral("excludeClasses"));
    m_excludeClasses->setPlaceholderText(tr("none, e.g. Pen,Fold"));
    m_excludeClasses->setToolTip(tr("Leave out patches that touch imported annotations of these classes, comma-separated "
                                    "(icmil run --exclude)"));
    m_magnification = new QDoubleSpinBox;
    m_magnification->setObjectName(QStringLiteral("magnification"));
    m_magnification->setRange(0.0, 100.0);
    m_magnification->setDecimals(1);
    m_magnification->setSuffix(QStringLiteral("x"));
    m_magnification->setSpecialValueText(tr("native (level 0)"));
    m_magnification->setValue(defaults.magnification);
    m_magnification->setToolTip(tr("Patches are cut at this magnification (slides that give their microns per pixel); "
                                   "native: at the slide's full resolution (icmil run --magnification, --level 0)"));
    m_patchSize = countBox(16, 4096, defaults.patchSize);
    m_patchSize->setObjectName(QStringLiteral("patchSize"));
    m_patchSize->setSuffix(QStringLiteral(" px"));
    m_minTissue = new QDoubleSpinBox;
    m_minTissue->setObjectName(QStringLiteral("minTissue"));
    m_minTissue->setRange(0.0, 1.0);
    m_minTissue->setDecimals(2);
    m_minTissue->setSingleStep(0.05);
    m_minTissue->setValue(defaults.minTissue);
    m_minTissue->setToolTip(tr("Keep a patch when at least this fraction of it is tissue (icmil run --min-tissue)"));
    m_stainMethod = new QComboBox;
    m_stainMethod->setObjectName(QStringLiteral("stainMethod"));
    m_stainMethod->addItem(tr("none"), QStringLiteral("none"));
    m_stainMethod->addItem(tr("Macenko"), QStringLiteral("macenko"));
    m_stainMethod->addItem(tr("Reinhard"), QStringLiteral("reinhard"));
    m_stainMethod->setToolTip(tr("Map each slide's stain to a reference before the embedder, in extraction and fine-tuning: "
                                 "Macenko (H&E stain vectors) or Reinhard (colour statistics) (icmil run --stain-norm)"));
    m_stainReference = new QLineEdit(QStringLiteral("built-in"));
    m_stainReference->setObjectName(QStringLiteral("stainReference"));
    m_stainReference->setPlaceholderText(tr("built-in, or SLIDE@X,Y,W,H"));
    m_stainReference->setToolTip(tr("The reference stain: built-in H&E, or a level-0 rectangle of a slide; \"Shown view\" takes "
                                    "the part of the shown slide in the viewer (icmil run --stain-reference)"));
    auto *stainFromView = new QToolButton;
    stainFromView->setObjectName(QStringLiteral("stainFromView"));
    stainFromView->setText(tr("Shown view"));
    m_stainJitter = new QDoubleSpinBox;
    m_stainJitter->setObjectName(QStringLiteral("stainJitter"));
    m_stainJitter->setRange(0.0, 1.0);
    m_stainJitter->setDecimals(2);
    m_stainJitter->setSingleStep(0.01);
    m_stainJitter->setSpecialValueText(tr("off"));
    m_stainJitter->setValue(defaults.stainJitter);
    m_stainJitter->setToolTip(tr("Fine-tuning: HED stain augmentation of the student's view, each stain scaled by 1 \u00b1 this and "
                                 "shifted by \u00b1 this optical density; 0.05 light, 0.2 strong (icmil run --stain-jitter)"));
    m_confidence = new QCheckBox(tr("Confidence-based fine-tuning"));
    m_confidence->setChecked(defaults.confidenceWeighted);
    m_negativeClass = new QLineEdit(QString::fromStdString(defaults.negativeClass));
    m_negativeClass->setObjectName(QStringLiteral("negativeClass"));
    m_negativeClass->setPlaceholderText(tr("off, e.g. normal"));
    m_negativeClass->setToolTip(tr("Fine-tuning: every patch of a training slide with this label (normal tissue, a negative bag) is "
                                   "taught this class instead of the teacher's prediction (icmil run --negative-class)"));

    auto *form = new QFormLayout(this);
    form->addRow(tr("Bag model"), m_model);
    form->addRow(tr("Embedder"), withButton(m_embedder, embedderBrowse));
    form->addRow(tr("Embedder weights"), withButton(m_weights, weightsBrowse));
    form->addRow(tr("ICMIL iterations"), m_iterations);
    form->addRow(tr("Classifier epochs"), m_epochs);
    form->addRow(tr("Classifier learning rate"), m_learningRate);
    form->addRow(tr("Fine-tuning learning rate"), m_fineTuneLearningRate);
    form->addRow(tr("Fine-tuning epochs"), m_fineTuneEpochs);
    form->addRow(tr("Patches per fine-tuning epoch"), m_fineTunePatches);
    form->addRow(tr("Tissue preset"), m_tissuePreset);
    form->addRow(tr("Patch magnification"), m_magnification);
    form->addRow(tr("Patch size"), m_patchSize);
    form->addRow(tr("Minimum tissue"), m_minTissue);
    form->addRow(tr("Inside annotations"), m_roiClasses);
    form->addRow(tr("Leave out annotations"), m_excludeClasses);
    form->addRow(tr("Stain normalisation"), m_stainMethod);
    form->addRow(tr("Stain reference"), withButton(m_stainReference, stainFromView));
    form->addRow(tr("Stain augmentation"), m_stainJitter);
    form->addRow(tr("Negative class"), m_negativeClass);
    form->addRow(tr("Device"), m_device);
    auto *defaultsButton = new QPushButton(tr("Defaults for this device"));
    defaultsButton->setObjectName(QStringLiteral("deviceDefaults"));
    defaultsButton->setToolTip(tr("CPU: tiny-cnn, 50 classifier epochs, 3 fine-tuning epochs of 2000 patches. "
                                  "CUDA: resnet50-trunc, 200 epochs, 5 fine-tuning epochs of 10000 patches."));
    form->addRow(m_confidence);
    form->addRow(defaultsButton);
    // The form scrolls: a wheel turned over a field the user has not clicked scrolls the form
    // instead of changing the field (it changed the embedder under a scrolling mouse).
    for (QWidget *field : findChildren<QWidget *>())
        if (qobject_cast<QComboBox *>(field) || qobject_cast<QAbstractSpinBox *>(field)) {
            field->setFocusPolicy(Qt::StrongFocus);
            field->installEventFilter(this);
        }
    m_applied = defaults.deviceSized();
    connect(defaultsButton, &QPushButton::clicked, this, &TrainingSettingsForm::defaultsRequested);
    connect(m_iterations, &QSpinBox::valueChanged, this, &TrainingSettingsForm::iterationsChanged);
    const auto changed = [this] { Q_EMIT settingsChanged(); };
    connect(m_model, &QComboBox::currentIndexChanged, this, changed);
    connect(m_embedder, &QComboBox::currentTextChanged, this, changed);
    connect(m_weights, &QLineEdit::textChanged, this, changed);
    connect(m_roiClasses, &QLineEdit::textChanged, this, changed);
    connect(m_excludeClasses, &QLineEdit::textChanged, this, changed);
    connect(m_negativeClass, &QLineEdit::textChanged, this, changed);
    connect(m_stainMethod, &QComboBox::currentIndexChanged, this, changed);
    connect(m_stainReference, &QLineEdit::textChanged, this, changed);
    connect(stainFromView, &QToolButton::clicked, this, &TrainingSettingsForm::stainReferenceFromViewRequested);
    connect(m_tissuePreset, &QComboBox::currentIndexChanged, this, changed);
    for (QSpinBox *box : {m_iterations, m_epochs, m_fineTuneEpochs, m_fineTunePatches, m_patchSize})
        connect(box, &QSpinBox::valueChanged, this, changed);
    for (QDoubleSpinBox *box : {m_learningRate, m_fineTuneLearningRate, m_magnification, m_minTissue, m_stainJitter})
        connect(box, &QDoubleSpinBox::valueChanged, this, changed);
    connect(m_confidence, &QCheckBox::toggled, this, changed);
    connect(m_device, &QComboBox::currentTextChanged, this, [this] {
        Q_EMIT deviceChanged();
        Q_EMIT settingsChanged();
    });
}

QString TrainingSettingsForm::device() const
{
    return m_device->currentText();
}

DeviceDefaults TrainingSettingsForm::deviceSized() const
{
    return settings().deviceSized();
}

void TrainingSettingsForm::setDeviceSized(const DeviceDefaults &values)
{
    m_embedder->setCurrentText(QString::fromStdString(values.embedder));
    m_epochs->setValue(values.epochs);
    m_fineTuneEpochs->setValue(values.fineTuneEpochs);
    m_fineTunePatches->setValue(static_cast<int>(std::min<std::int64_t>(values.fineTunePatches, std::numeric_limits<int>::max())));
    m_fineTuneLearningRate->setValue(values.fineTuneLearningRate);
}

bool TrainingSettingsForm::followDeviceDefaults(bool cpu)
{
    if (!m_followDevice)
        return false;
    const DeviceDefaults wanted = TrainingSettings::deviceDefaults(cpu);
    const DeviceDefaults now = deviceSized();
    DeviceDefaults next = now;
    if (now.embedder == m_applied.embedder)
        next.embedder = wanted.embedder;
    if (now.epochs == m_applied.epochs)
        next.epochs = wanted.epochs;
    if (now.fineTuneEpochs == m_applied.fineTuneEpochs)
        next.fineTuneEpochs = wanted.fineTuneEpochs;
    if (now.fineTunePatches == m_applied.fineTunePatches)
        next.fineTunePatches = wanted.fineTunePatches;
    if (now.fineTuneLearningRate == m_applied.fineTuneLearningRate)
        next.fineTuneLearningRate = wanted.fineTuneLearningRate;
    m_applied = wanted;
    if (next == now)
        return false;
    setDeviceSized(next);
    return true;
}

void TrainingSettingsForm::applyDeviceDefaults(bool cpu)
{
    m_applied = TrainingSettings::deviceDefaults(cpu);
    setDeviceSized(m_applied);
}

TrainingSettings TrainingSettingsForm::settings(TrainingSettings s) const
{
    s.model = m_model->currentData().toString().toStdString();
    s.embedder = m_embedder->currentText().trimmed().toStdString();
    s.embedderWeights = m_weights->text().trimmed().toStdString();
    s.iterations = m_iterations->value();
    s.epochs = m_epochs->value();
    s.learningRate = m_learningRate->value();
    s.fineTuneLearningRate = m_fineTuneLearningRate->value();
    s.fineTuneEpochs = m_fineTuneEpochs->value();
    s.fineTunePatches = m_fineTunePatches->value();
    s.device = m_device->currentText().toStdString();
    s.confidenceWeighted = m_confidence->isChecked();
    s.tissuePreset = m_tissuePreset->currentText().toStdString();
    s.magnification = m_magnification->value();
    s.patchSize = m_patchSize->value();
    s.minTissue = m_minTissue->value();
    s.roiClasses = project::classList(m_roiClasses->text().toStdString());
    s.excludeClasses = project::classList(m_excludeClasses->text().toStdString());
    s.stainMethod = m_stainMethod->currentData().toString().toStdString();
    s.stainReference = m_stainReference->text().trimmed().toStdString();
    if (s.stainReference.empty())
        s.stainReference = "built-in";
    // A reference typed or taken from the view since: its profile is estimated when the run starts.
    s.stainReferenceProfile = s.stainReference == m_stainProfileSource ? m_stainProfile : engine::builtInStainReference();
    s.stainJitter = m_stainJitter->value();
    s.negativeClass = m_negativeClass->text().trimmed().toStdString();
    s.followDevice = m_followDevice;
    return s;
}

void TrainingSettingsForm::setSettings(const TrainingSettings &s)
{
    m_model->setCurrentIndex(std::max(0, m_model->findData(QString::fromStdString(s.model))));
    m_embedder->setCurrentText(QString::fromStdString(s.embedder));
    m_weights->setText(QString::fromStdString(s.embedderWeights.string()));
    m_iterations->setValue(s.iterations);
    m_epochs->setValue(s.epochs);
    m_learningRate->setValue(s.learningRate);
    m_fineTuneLearningRate->setValue(s.fineTuneLearningRate);
    m_fineTuneEpochs->setValue(s.fineTuneEpochs);
    m_fineTunePatches->setValue(static_cast<int>(std::min<std::int64_t>(s.fineTunePatches, std::numeric_limits<int>::max())));
    const QString device = QString::fromStdString(s.device);
    if (m_device->findText(device) < 0)
        m_device->addItem(device); // e.g. cuda:1, chosen in the preferences
    m_device->setCurrentText(device);
    m_confidence->setChecked(s.confidenceWeighted);
    m_tissuePreset->setCurrentIndex(std::max(0, m_tissuePreset->findText(QString::fromStdString(s.tissuePreset))));
    m_magnification->setValue(s.magnification);
    m_patchSize->setValue(s.patchSize);
    m_minTissue->setValue(s.minTissue);
    auto joined = [](const std::vector<std::string> &classes) {
        QStringList names;
        for (const std::string &name : classes)
            names << QString::fromStdString(name);
        return names.join(QStringLiteral(", "));
    };
    m_roiClasses->setText(joined(s.roiClasses));
    m_excludeClasses->setText(joined(s.excludeClasses));
    m_stainMethod->setCurrentIndex(std::max(0, m_stainMethod->findData(QString::fromStdString(s.stainMethod))));
    m_stainProfile = s.stainReferenceProfile;
    m_stainProfileSource = s.stainReference;
    m_stainReference->setText(QString::fromStdString(s.stainReference));
    m_stainJitter->setValue(s.stainJitter);
    m_negativeClass->setText(QString::fromStdString(s.negativeClass));
    m_followDevice = s.followDevice;
}

void TrainingSettingsForm::setStainReference(const QString &reference)
{
    m_stainReference->setText(reference);
}

int TrainingSettingsForm::iterations() const
{
    return m_iterations->value();
}

} // namespace icmil::ui
