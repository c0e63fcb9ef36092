"""A user's own models, as a project would keep them (the tests run them as `mypkg.models:build`)."""

import keras


def build(input_shape, classes):
    """A small CNN with batch normalisation and dropout, returning logits."""
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            keras.layers.Conv2D(8, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(classes),
        ],
        name="small_bn",
    )


def probabilities(input_shape, classes):
    """Ends in a softmax: refused."""
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def softmax_layer(input_shape, classes):
    """Ends in a Softmax layer (no `activation` attribute): refused by its outputs."""
    inputs = keras.Input(shape=tuple(input_shape))
    logits = keras.layers.Dense(classes)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Softmax()(logits))


def wrong_size(input_shape, classes):
    """One output too many: refused."""
    return keras.Sequential(
        [keras.Input(shape=tuple(input_shape)), keras.layers.Flatten(), keras.layers.Dense(classes + 1)]
    )


def not_a_model(input_shape, classes):
    return "lenet5"
