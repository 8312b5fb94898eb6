// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The training panel's settings form: bag model, embedder (built-in or TorchScript file) and its
// weights, ICMIL iterations, classifier epochs and learning rate, fine-tuning learning rate,
// epochs and patches per epoch, device, confidence-based fine-tuning. Starts at `icmil run`'s
// defaults (TrainingSettings). Disable it (setEnabled) while a run is under way.
//
// Device defaults (TrainingSettings::deviceDefaults): followDeviceDefaults(cpu) moves the fields
// that still hold the defaults applied last (embedder, classifier epochs, fine-tuning epochs and
// patches) to the device's; a field whose value differs from them was typed (or set from a
// saved project or the demo) and is kept. The "Defaults for this device" button asks for them
// (defaultsRequested); applyDeviceDefaults(cpu) then writes all four fields.

#include "ui/training/trainingsettings.h"

#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace icmil::ui {

class TrainingSettingsForm : public QGroupBox {
    Q_OBJECT
public:
    explicit TrainingSettingsForm(QWidget *parent = nullptr);

    // `base` with the form's fields written over it (project, slides, name and seed stay base's).
    TrainingSettings settings(TrainingSettings base = {}) const;
    void setSettings(const TrainingSettings &settings);
    int iterations() const;
    QString device() const;
    // Moves the untouched device-sized fields to the device's defaults; true when any changed.
    // Nothing while following is off (TrainingSettings::followDevice, setFollowsDevice).
    bool followDeviceDefaults(bool cpu);
    void setFollowsDevice(bool follow) { m_followDevice = follow; }
    bool followsDevice() const { return m_followDevice; }
    // Writes the device's defaults into the four fields (the user asked for them).
    void applyDeviceDefaults(bool cpu);
    // Where the file dialogs start.
    void setBrowseFolder(const QString &folder) { m_browseFolder = folder; }
    // The stain reference field's text ("built-in" or SLIDE@X,Y,W,H).
    void setStainReference(const QString &reference);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

Q_SIGNALS:
    void iterationsChanged(int iterations);
    void settingsChanged(); // any field, by the user or by setSettings
    void deviceChanged();
    void defaultsRequested();               // the "Defaults for this device" button
    void stainReferenceFromViewRequested(); // the stain reference's "Shown view" button

private:
    DeviceDefaults deviceSized() const;
    void setDeviceSized(const DeviceDefaults &values);

    QString m_browseFolder;
    DeviceDefaults m_applied; // the defaults the device-sized fields were given last
    bool m_followDevice = true;
    QComboBox *m_model = nullptr;
    QComboBox *m_embedder = nullptr;
    QLineEdit *m_weights = nullptr;
    QSpinBox *m_iterations = nullptr;
    QSpinBox *m_epochs = nullptr;
    QDoubleSpinBox *m_learningRate = nullptr;
    QDoubleSpinBox *m_fineTuneLearningRate = nullptr;
    QSpinBox *m_fineTuneEpochs = nullptr;
    QSpinBox *m_fineTunePatches = nullptr;
    QComboBox *m_device = nullptr;
    QComboBox *m_tissuePreset = nullptr;
    QLineEdit *m_roiClasses = nullptr;
    QLineEdit *m_excludeClasses = nullptr;
    QDoubleSpinBox *m_magnification = nullptr;
    QSpinBox *m_patchSize = nullptr;
    QDoubleSpinBox *m_minTissue = nullptr;
    QCheckBox *m_confidence = nullptr;
    QComboBox *m_stainMethod = nullptr;
    QLineEdit *m_stainReference = nullptr;
    QDoubleSpinBox *m_stainJitter = nullptr;
    QLineEdit *m_negativeClass = nullptr;
    // The profile of the reference last set (not shown), and the text it belongs to.
    engine::StainProfile m_stainProfile = engine::builtInStainReference();
    std::string m_stainProfileSource = "built-in";
};

} // namespace icmil::ui
