"""Macro: a small U-Net for per-pixel logits.

Encoder: 3x3 conv + ReLU, then two stride-2 3x3 convs + ReLU (down to 1/4). Decoder: bilinear resize x2 of
the bottleneck, concatenated with the 1/2-scale skip, 3x3 conv + ReLU; then a 2x2 stride-2 transposed conv,
concatenated with the full-scale skip, 3x3 conv + ReLU; a 1x1 conv to class logits.
"""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.spec import BATCH, ModelSpec, TensorSpec, conv_init


def conv_layers(dims):
    """(name, kh, c_in, c_out) of every convolution, transposed conv included (canonical HWIO kernels)."""
    w = dims["width"]
    return [("enc0", 3, dims["channels"], w), ("down1", 3, w, 2 * w), ("down2", 3, 2 * w, 4 * w),
            ("up1", 3, 6 * w, 2 * w), ("upconv2", 2, 2 * w, w), ("up2", 3, 2 * w, w), ("head", 1, w, dims["classes"])]


def init_params(dims, rng):
    params = {}
    for name, k, c_in, c_out in conv_layers(dims):
        params[f"{name}.w"] = conv_init(rng, k, k, c_in, c_out)
        params[f"{name}.b"] = 0.1 * rng.standard_normal(c_out)
    return params


SPEC = ModelSpec(
    name="unet",
    description="U-Net: strided convs down, bilinear resize and transposed conv up, skip concatenations",
    family="macro",
    sizes={"tiny": {"channels": 3, "image": 16, "width": 8, "classes": 2},
           "small": {"channels": 3, "image": 64, "width": 16, "classes": 4},
           "base": {"channels": 3, "image": 256, "width": 32, "classes": 8}},
    inputs=(TensorSpec("image", (BATCH, "channels", "image", "image")),),
    outputs=(TensorSpec("logits", (BATCH, "classes", "image", "image")),),
    init_params=init_params,
    layout="canonical input and output NCHW; torch runs NCHW, TF and Flax transpose to NHWC at the input "
    "and back at the output. Transposed-conv kernel canonical (kh, kw, in, out) in scatter form "
    "(out[2y+i, 2x+j] += in[y, x] . K[i, j]): torch (in, out, kh, kw), Keras (kh, kw, out, in), Flax "
    "transpose_kernel=True with Keras' layout. Bilinear resize uses half-pixel centres everywhere "
    "(torch align_corners=False)",
)


def build_torch(params, dims):
    import torch
    from torch import nn

    from aibench_onnx.frameworks import torch_fw

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            for name, k, c_in, c_out in conv_layers(dims):
                if name == "upconv2":
                    layer = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
                    torch_fw.load(layer.weight, params[f"{name}.w"].transpose(2, 3, 0, 1))
                    torch_fw.load(layer.bias, params[f"{name}.b"])
                else:
                    stride = 2 if name.startswith("down") else 1
                    layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2)
                    torch_fw.load_conv(layer, params, name)
                setattr(self, name, layer)

        def forward(self, image):
            skip0 = torch.relu(self.enc0(image))
            skip1 = torch.relu(self.down1(skip0))
            bottom = torch.relu(self.down2(skip1))
            up = nn.functional.interpolate(bottom, scale_factor=2, mode="bilinear", align_corners=False)
            x = torch.relu(self.up1(torch.cat([up, skip1], dim=1)))
            x = torch.relu(self.up2(torch.cat([self.upconv2(x), skip0], dim=1)))
            return self.head(x)

    return UNet().eval()


def build_tf(params, dims):
    import keras
    import tensorflow as tf

    from aibench_onnx.frameworks import tf_fw

    def conv(c_out, k, stride=1):
        return keras.layers.Conv2D(c_out, k, strides=stride, padding="valid")

    def pad(x, k):
        p = k // 2
        return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) if p else x

    class UNet(keras.Model):
        def __init__(self):
            super().__init__()
            for name, k, _, c_out in conv_layers(dims):
                if name == "upconv2":
                    layer = keras.layers.Conv2DTranspose(c_out, 2, strides=2, padding="valid")
                else:
                    layer = conv(c_out, k, 2 if name.startswith("down") else 1)
                setattr(self, name, layer)

        def call(self, image):
            x = tf_fw.nchw_to_nhwc(image)
            skip0 = tf.nn.relu(self.enc0(pad(x, 3)))
            skip1 = tf.nn.relu(self.down1(pad(skip0, 3)))
            bottom = tf.nn.relu(self.down2(pad(skip1, 3)))
            size = tf.shape(bottom)[1:3] * 2
            up = tf.image.resize(bottom, size, method="bilinear")  # half-pixel centres in TF2
            x = tf.nn.relu(self.up1(pad(tf.concat([up, skip1], axis=-1), 3)))
            x = tf.nn.relu(self.up2(pad(tf.concat([self.upconv2(x), skip0], axis=-1), 3)))
            return tf_fw.nhwc_to_nchw(self.head(x))

    model = UNet()
    tf_fw.build(model, [np.zeros((1, dims["channels"], dims["image"], dims["image"]), np.float32)])
    for name, *_ in conv_layers(dims):
        weight = params[f"{name}.w"]
        if name == "upconv2":
            weight = weight.transpose(0, 1, 3, 2)
        tf_fw.set_weights(getattr(model, name), [weight, params[f"{name}.b"]])
    return model


def build_jax(params, dims):
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from aibench_onnx.frameworks import jax_fw

    class UNet(nnx.Module):
        def __init__(self):
            for name, k, c_in, c_out in conv_layers(dims):
                if name == "upconv2":
                    # transpose_kernel=True: gradient-of-conv semantics, as torch and Keras
                    layer = jax_fw.blank(nnx.ConvTranspose, c_in, c_out, (2, 2), strides=2, padding="VALID",
                                              transpose_kernel=True)
                    jax_fw.load(layer.kernel, params[f"{name}.w"].transpose(0, 1, 3, 2))
                    jax_fw.load(layer.bias, params[f"{name}.b"])
                else:
                    p = k // 2
                    layer = jax_fw.blank(nnx.Conv, c_in, c_out, (k, k), strides=2 if name.startswith("down") else 1,
                                     padding=((p, p), (p, p)))
                    jax_fw.load_conv(layer, params, name)
                setattr(self, name, layer)

        def __call__(self, image):
            x = jax_fw.nchw_to_nhwc(image)
            skip0 = jax.nn.relu(self.enc0(x))
            skip1 = jax.nn.relu(self.down1(skip0))
            bottom = jax.nn.relu(self.down2(skip1))
            b, h, w, c = bottom.shape
            # jax.image.resize compares whole shapes, which fails on a symbolic batch under export; its
            # building block scale_and_translate, on the spatial axes only, is the same bilinear resize
            # (half-pixel centres, no antialiasing when upsampling).
            up = jax.image.scale_and_translate(
                bottom, (b, 2 * h, 2 * w, c), spatial_dims=(1, 2), scale=jnp.array([2.0, 2.0], bottom.dtype),
                translation=jnp.zeros(2, bottom.dtype), method="linear", antialias=False)
            x = jax.nn.relu(self.up1(jnp.concatenate([up, skip1], axis=-1)))
            x = jax.nn.relu(self.up2(jnp.concatenate([self.upconv2(x), skip0], axis=-1)))
            return jax_fw.nhwc_to_nchw(self.head(x))

    return UNet()
