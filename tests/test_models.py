from pathlib import Path

import keras
import numpy as np
import pytest

from robustcurves import models

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("shape", [(32, 32, 1), (32, 32, 3), (96, 96, 3)])
def test_lenet5_shapes(shape):
    model = models.lenet5(shape, 10)
    assert model.output_shape == (None, 10)
    names = [type(layer).__name__ for layer in model.layers]
    assert names == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense", "Dense"]
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [120, 84, 10]
    # logits, not probabilities: outputs need not sum to one
    out = model(np.random.default_rng(0).uniform(size=(2, *shape)).astype(np.float32)).numpy()
    assert out.shape == (2, 10) and not np.allclose(out.sum(axis=1), 1.0)


def test_resnet20_is_he_et_als_cifar_network():
    model = models.resnet20((32, 32, 3), 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    # 19 convolutions and one dense layer: 20 weighted layers, each convolution batch-normalised
    assert (
        kinds.count("Conv2D") == 19 and kinds.count("Dense") == 1 and kinds.count("BatchNormalization") == 19
    )
    assert model.count_params() == 271_098  # "0.27 M" (He et al. 2016, Table 6)
    assert model.output_shape == (None, 10)


def test_macs_count_the_layers_as_by_hand():
    # LeNet-5 at 32x32x3: conv 28*28*6*(5*5*3), conv 10*10*16*(5*5*6), dense 400*120, 120*84, 84*10
    lenet = 28 * 28 * 6 * 75 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    assert models.macs(models.lenet5((32, 32, 3), 10)) == lenet == 651_720
    # ResNet-20: the stem, 6 convolutions of 16 at 32x32, then per stage one strided and 5 plain ones
    stage = lambda side, cin, cout: side * side * cout * 9 * (cin + 5 * cout)  # noqa: E731
    resnet = 32 * 32 * 16 * 27 + 6 * 32 * 32 * 16 * 16 * 9 + stage(16, 16, 32) + stage(8, 32, 64) + 64 * 10
    assert models.macs(models.resnet20((32, 32, 3), 10)) == resnet


@pytest.mark.parametrize("name", ["mypkg.models:build", "mypkg/models.py:build"])
def test_a_users_function_by_module_or_file(name, monkeypatch):
    monkeypatch.chdir(ROOT / "tests")  # as a job runs, in the project directory
    model = models.build(name, (16, 16, 1), 3)
    assert model.name == "small_bn" and model.output_shape == (None, 3)


@pytest.mark.parametrize(
    "name, message",
    [
        ("mypkg.models:probabilities", "ends in softmax: the attacks and CLEVER need logits"),
        ("mypkg.models:softmax_layer", "returns probabilities"),
        ("mypkg.models:wrong_size", r"output shape \(None, 4\), expected \(None, 3\) logits"),
        ("mypkg.models:not_a_model", "returned str, not a keras.Model"),
        ("mypkg.models:missing", "has no function 'missing'"),
        ("nopkg.models:build", "cannot import 'nopkg.models' \\(ModuleNotFoundError"),
        ("mypkg/nofile.py:build", "cannot import 'mypkg/nofile.py'"),
        ("vgg16", "is not 'module:function' or 'file.py:function', nor one of"),
    ],
)
def test_a_model_that_is_not_a_logits_model_is_refused_before_training(name, message, monkeypatch):
    monkeypatch.chdir(ROOT / "tests")
    with pytest.raises(models.ModelError, match=message):
        models.build(name, (16, 16, 1), 3)


def test_images_too_small_for_the_model_are_refused_naming_both():
    with pytest.raises(models.ModelError, match=r"'lenet5' cannot be built for 8x8x1 images and 3 classes"):
        models.build("lenet5", (8, 8, 1), 3)
    assert models.build("resnet20", (8, 8, 1), 3).output_shape == (None, 3)


def test_a_subclassed_models_cost_is_refused_not_guessed():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed")
            self.conv, self.flat, self.dense = (
                keras.layers.Conv2D(4, 3),
                keras.layers.Flatten(),
                keras.layers.Dense(3),
            )

        def call(self, x):
            return self.dense(self.flat(self.conv(x)))

    model = Subclassed()
    model(np.zeros((1, 8, 8, 1), np.float32))
    with pytest.raises(models.ModelError, match="'subclassed': no output shape recorded for conv2d.*, dense"):
        models.macs(model)
