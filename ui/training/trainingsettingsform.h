#pragma once

// The training panel's settings form: bag model, embedder (built-in or TorchScript file) and its
// weights, ICMIL iterations, classifier epochs and learning rate, fine-tuning learning rate,
// epochs and patches per epoch, device, confidence-based fine-tuning. Starts at `icmil run`'s
// defaults (TrainingSettings). Disable it (setEnabled) while a run is under way.

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
    // Where the file dialogs start.
    void setBrowseFolder(const QString &folder) { m_browseFolder = folder; }

Q_SIGNALS:
    void iterationsChanged(int iterations);

private:
    QString m_browseFolder;
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
    QCheckBox *m_confidence = nullptr;
};

} // namespace icmil::ui
