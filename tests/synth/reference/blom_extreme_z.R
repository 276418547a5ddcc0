# Blom's normal score of the largest of n draws, qnorm((n - 3/8) / (n + 1/4)),
# pinned in tests/synth/test_marginals.py. Run: Rscript blom_extreme_z.R
print(qnorm((18 - 3/8) / (18 + 1/4)), digits = 10)
print(qnorm((10 - 3/8) / (10 + 1/4)), digits = 10)
