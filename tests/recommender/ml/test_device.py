"""Device choice: speed-ups follow the device unless the config forces them."""

from recommender.ml import ModelConfig, configure_device


def test_mixed_precision_and_xla_follow_the_device_unless_forced():
    auto = configure_device(ModelConfig())
    on_gpu = auto.device.startswith("GPU")
    assert auto.mixed_precision == on_gpu and auto.jit_compile == on_gpu
    forced = configure_device(ModelConfig(mixed_precision="on", jit_compile="off"))
    assert forced.mixed_precision and not forced.jit_compile
