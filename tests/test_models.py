import numpy as np
import pytest

from robustcurves import models


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
