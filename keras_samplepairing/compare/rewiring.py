"""A model's layers rewired, sharing its weights: a layer inserted after a
named one, the model cut there into an encoder and a head, the model up to
a layer (its features).

Functional models are rewired through their graph; Sequential ones through
their list of layers; subclassed ones cannot be (their calls are code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras


def check_rewirable(model: keras.Model) -> None:
    """Refuses a subclassed model, whose layers cannot be rewired."""
    import keras

    if isinstance(model, keras.Sequential):
        return
    if not hasattr(model, "_operations") or not getattr(model, "inputs", None):
        raise ValueError(
            "`split_layer`/`feature_layer` need a functional or Sequential model; a subclassed "
            "model's layers cannot be rewired."
        )


def _input(model: keras.Model) -> Any:
    """A functional model's input: the tensor itself when there is one (a list
    of one would make Keras warn at every call with a tensor)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _sequential(layers: list, input_shape: tuple) -> keras.Model:
    import keras

    return keras.Sequential([keras.Input(tuple(input_shape)), *layers])


def _position(model: keras.Model, layer_name: str) -> int:
    return [layer.name for layer in model.layers].index(layer_name)


def with_layer_after(
    model: keras.Model, layer_name: str, layer: keras.layers.Layer, image_shape: tuple
) -> keras.Model:
    """``model`` with ``layer`` inserted after ``layer_name``, sharing its weights."""
    import keras

    check_rewirable(model)
    if isinstance(model, keras.Sequential):
        cut = _position(model, layer_name) + 1
        return _sequential([*model.layers[:cut], layer, *model.layers[cut:]], image_shape)

    def call(original: Any, *args: Any, **kwargs: Any) -> Any:
        output = original(*args, **kwargs)
        return layer(output) if original.name == layer_name else output

    return keras.models.clone_model(model, clone_function=lambda same: same, call_function=call)


def split_at(
    model: keras.Model, layer_name: str, image_shape: tuple
) -> tuple[keras.Model, keras.Model]:
    """``(encoder, head)`` models sharing ``model``'s weights, cut after ``layer_name``.

    Raises:
        ValueError: a connection passes around the layer (no clean cut).
    """
    import keras

    check_rewirable(model)
    if isinstance(model, keras.Sequential):
        cut = _position(model, layer_name) + 1
        encoder = _sequential(model.layers[:cut], image_shape)
        return encoder, _sequential(model.layers[cut:], encoder.output_shape[1:])
    middle = model.get_layer(layer_name).output
    try:
        head = keras.Model(middle, model.outputs[0])
    except ValueError as error:
        raise ValueError(
            f"`split_layer`: the model cannot be cut after {layer_name!r}: a connection passes "
            f"around it ({error}); name a layer that every later layer depends on."
        ) from error
    return keras.Model(_input(model), middle), head


def truncated_features(model: keras.Model, layer_name: str, image_shape: tuple) -> keras.Model:
    """The model up to ``layer_name`` (sharing weights): the features of the
    model being trained."""
    import keras

    from keras_samplepairing import truncated_model

    check_rewirable(model)
    if isinstance(model, keras.Sequential):
        return _sequential(model.layers[: _position(model, layer_name) + 1], image_shape)
    return truncated_model(model, layer_name)
