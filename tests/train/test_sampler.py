"""The seeded infinite sampler: epochs are permutations, resume replays, ranks split global batches."""

import itertools

from seqgan.train.sampler import InfiniteBatchSampler


def take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_epochs_are_permutations_and_seeds_unique():
    batches = take(InfiniteBatchSampler(10, 5, seed=3), 4)  # two epochs
    first, second = [i for b in batches[:2] for i, _ in b], [i for b in batches[2:] for i, _ in b]
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != second
    seeds = [s for b in batches for _, s in b]
    assert len(set(seeds)) == len(seeds)


def test_resume_replays_the_stream():
    full = take(InfiniteBatchSampler(7, 3, seed=1), 6)
    resumed = take(InfiniteBatchSampler(7, 3, seed=1, start_batch=4), 2)
    assert resumed == full[4:]


def test_ranks_together_equal_one_process_with_the_combined_batch():
    single = take(InfiniteBatchSampler(9, 4, seed=2), 3)
    r0 = take(InfiniteBatchSampler(9, 2, seed=2, rank=0, world_size=2), 3)
    r1 = take(InfiniteBatchSampler(9, 2, seed=2, rank=1, world_size=2), 3)
    assert [a + b for a, b in zip(r0, r1)] == single
