import torch
import torch.nn.functional as F

from ecgpipe.training import losses


def test_focal_with_gamma_zero_is_bce():
    torch.manual_seed(0)
    logits, target = torch.randn(16, 3), (torch.rand(16, 3) > 0.7).float()
    focal = losses.FocalLoss(gamma=0.0)
    assert torch.allclose(focal(logits, target), F.binary_cross_entropy_with_logits(logits, target))


def test_focal_down_weights_easy_examples():
    target = torch.ones(1, 1)
    easy, hard = torch.full((1, 1), 4.0), torch.full((1, 1), -1.0)
    f, b = losses.FocalLoss(2.0), torch.nn.BCEWithLogitsLoss()
    assert f(easy, target) / b(easy, target) < f(hard, target) / b(hard, target)


def test_weights_come_from_training_counts():
    bce = losses.build("bce", True, torch.tensor([10, 50]), 100, "inverse", 2.0)
    assert torch.allclose(bce.pos_weight, torch.tensor([9.0, 1.0]))
    assert losses.build("bce", True, torch.tensor([10, 50]), 100, "none", 2.0).pos_weight is None
    ce = losses.build("ce", False, torch.tensor([80, 20]), 100, "inverse", 2.0)
    assert torch.allclose(ce.weight, torch.tensor([100 / 160, 100 / 40]))
    assert isinstance(
        losses.build("focal", True, torch.tensor([1, 2]), 10, "inverse", 1.0), losses.FocalLoss
    )


def test_sqrt_inverse_weights_are_the_square_roots_and_none_is_unweighted():
    bce = losses.build("bce", True, torch.tensor([10, 50]), 100, "sqrt_inverse", 2.0)
    assert torch.allclose(bce.pos_weight, torch.tensor([3.0, 1.0]))
    ce = losses.build("ce", False, torch.tensor([80, 20]), 100, "sqrt_inverse", 2.0)
    assert torch.allclose(ce.weight, torch.tensor([100 / 160, 100 / 40]) ** 0.5)
    assert losses.build("ce", False, torch.tensor([80, 20]), 100, "none", 2.0).weight is None


def test_softmax_focal_with_gamma_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(16, 4), torch.randint(0, 4, (16,))
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    plain = losses.SoftmaxFocalLoss(gamma=0.0)
    assert torch.allclose(plain(logits, target), F.cross_entropy(logits, target))
    weighted = losses.SoftmaxFocalLoss(gamma=0.0, weight=weight)
    assert torch.allclose(weighted(logits, target), F.cross_entropy(logits, target, weight=weight))
    easy, hard = torch.tensor([[4.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    f, ce = losses.SoftmaxFocalLoss(2.0), torch.nn.CrossEntropyLoss()
    zero = torch.tensor([0])
    assert f(easy, zero) / ce(easy, zero) < f(hard, zero) / ce(hard, zero)


def test_single_label_losses_by_name():
    counts = torch.tensor([80, 20])
    assert isinstance(
        losses.build("ce", False, counts, 100, "inverse", 2.0), torch.nn.CrossEntropyLoss
    )
    focal = losses.build("focal", False, counts, 100, "inverse", 2.0)
    assert isinstance(focal, losses.SoftmaxFocalLoss)
    assert torch.allclose(focal.weight, torch.tensor([100 / 160, 100 / 40]))
