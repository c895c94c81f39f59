"""Third-party architectures for `benchmarks/third_party_table.py`, built from small configs with random
weights (no downloads): Hugging Face transformers (torch), keras.applications (weights=None, tf), and
jax2onnx's own Flax NNX example models (jax). Each factory is what a user would pass as pkg.module:factory."""

import numpy as np

VOCAB = 1000
TEXT = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256, vocab_size=VOCAB)


def _seeded_torch():
    import torch

    torch.manual_seed(0)


def bert():
    from transformers import BertConfig, BertModel

    _seeded_torch()
    return BertModel(BertConfig(**TEXT))


def roberta():
    from transformers import RobertaConfig, RobertaModel

    _seeded_torch()
    return RobertaModel(RobertaConfig(**TEXT, max_position_embeddings=130))


def distilbert():
    from transformers import DistilBertConfig, DistilBertModel

    _seeded_torch()
    return DistilBertModel(DistilBertConfig(dim=128, n_layers=2, n_heads=2, hidden_dim=256, vocab_size=VOCAB))


def gpt2():
    from transformers import GPT2Config, GPT2Model

    _seeded_torch()
    return GPT2Model(GPT2Config(n_embd=128, n_layer=2, n_head=2, vocab_size=VOCAB, n_positions=128))


def vit():
    from transformers import ViTConfig, ViTModel

    _seeded_torch()
    return ViTModel(ViTConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
                              image_size=64, patch_size=8))


def resnet():
    from transformers import ResNetConfig, ResNetModel

    _seeded_torch()
    return ResNetModel(ResNetConfig(embedding_size=32, hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 1, 1]))


def convnext():
    from transformers import ConvNextConfig, ConvNextModel

    _seeded_torch()
    return ConvNextModel(ConvNextConfig(hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 2, 1]))


def _keras(name: str):
    import keras

    keras.utils.set_random_seed(0)
    extra = {"include_preprocessing": False} if name in ("MobileNetV3Small",) else {}
    return getattr(keras.applications, name)(weights=None, input_shape=(64, 64, 3), classes=10,
                                             classifier_activation=None, **extra)


def keras_resnet50():
    return _keras("ResNet50")


def keras_mobilenet_v3():
    return _keras("MobileNetV3Small")


def keras_densenet121():
    return _keras("DenseNet121")


def keras_efficientnet_b0():
    return _keras("EfficientNetB0")


def jax_mlp():
    from flax import nnx
    from jax2onnx.plugins.examples.nnx.mlp import MLP

    return MLP(din=256, dmid=512, dout=10, rngs=nnx.Rngs(0))


def jax_cnn():
    from flax import nnx
    from jax2onnx.plugins.examples.nnx.cnn import CNN

    return CNN(rngs=nnx.Rngs(0))


def jax_vit():
    from flax import nnx
    from jax2onnx.plugins.examples.nnx.vit import VisionTransformer

    return VisionTransformer(height=28, width=28, num_hiddens=128, num_layers=2, num_heads=4, mlp_dim=256,
                             num_classes=10, embed_dims=(32, 64, 128), rngs=nnx.Rngs(0))


def jax_gpt():
    from flax import nnx
    from jax2onnx.plugins.examples.nnx.gpt import GPT

    return GPT(vocab_size=VOCAB, n_layer=2, n_head=2, n_embd=128, block_size=64, dropout=0.0, rngs=nnx.Rngs(0))


def text(batch, seq=32, seed=0):
    """Token ids below the vocabulary and an all-ones mask (the input factory for the text models)."""
    rng = np.random.default_rng(seed)
    return {"input_ids": rng.integers(0, VOCAB, (batch, seq)).astype("int64"),
            "attention_mask": np.ones((batch, seq), "int64")}
