# Reference values for ruxtrack.stats rank tests (Friedman, Wilcoxon, Mann-Whitney,
# Kruskal-Wallis, Dunn). Run: Rscript nonparametric.R > nonparametric.Rout 2>&1
# Every data set is copied from the R help page named beside it (R 4.2.2, package stats).
options(digits = 15)
cat("R:", R.version.string, "\n")
show <- function(label, h) {
  cat(sprintf("%s | statistic=%.15g | p=%.15g | method=%s\n", label,
              unname(h$statistic), h$p.value, h$method))
}

## ?friedman.test: Hollander & Wolfe (1973), p. 140ff. Rounding first base.
RoundingTimes <- matrix(c(5.40, 5.50, 5.55, 5.85, 5.70, 5.75, 5.20, 5.60, 5.50,
  5.55, 5.50, 5.40, 5.90, 5.85, 5.70, 5.45, 5.55, 5.60, 5.40, 5.40, 5.35,
  5.45, 5.50, 5.35, 5.25, 5.15, 5.00, 5.85, 5.80, 5.70, 5.25, 5.20, 5.10,
  5.65, 5.55, 5.45, 5.60, 5.35, 5.45, 5.05, 5.00, 4.95, 5.50, 5.50, 5.40,
  5.45, 5.55, 5.50, 5.55, 5.55, 5.35, 5.45, 5.50, 5.55, 5.50, 5.45, 5.25,
  5.65, 5.60, 5.40, 5.70, 5.65, 5.55, 6.30, 6.30, 6.25),
  nrow = 22, byrow = TRUE,
  dimnames = list(1:22, c("Round Out", "Narrow Angle", "Wide Angle")))
write.csv(RoundingTimes, "rounding_times.csv", row.names = FALSE)
show("friedman RoundingTimes", friedman.test(RoundingTimes))
# pairwise Wilcoxon signed-rank, paired, Holm (R's default p.adjust for pairwise.*)
rt_long <- data.frame(y = as.vector(RoundingTimes),
                      g = factor(rep(colnames(RoundingTimes), each = 22), levels = colnames(RoundingTimes)))
pw <- suppressWarnings(pairwise.wilcox.test(rt_long$y, rt_long$g, paired = TRUE, p.adjust.method = "holm"))
print(pw$p.value)
pw_none <- suppressWarnings(pairwise.wilcox.test(rt_long$y, rt_long$g, paired = TRUE, p.adjust.method = "none"))
print(pw_none$p.value)
for (pr in list(c(1, 2), c(1, 3), c(2, 3))) {
  h <- suppressWarnings(wilcox.test(RoundingTimes[, pr[1]], RoundingTimes[, pr[2]], paired = TRUE))
  show(paste("signed-rank RoundingTimes", colnames(RoundingTimes)[pr[1]], "vs", colnames(RoundingTimes)[pr[2]]), h)
}

## ?wilcox.test: Hollander & Wolfe (1973), p. 29f. Hamilton depression scale.
x <- c(1.83,  0.50,  1.62,  2.48, 1.68, 1.88, 1.55, 3.06, 1.30)
y <- c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29)
show("signed-rank depression two.sided", wilcox.test(x, y, paired = TRUE))
show("signed-rank depression greater", wilcox.test(x, y, paired = TRUE, alternative = "greater"))
# A third, tie-free time point built from the depression data to exercise the exact path in
# Friedman + pairwise Wilcoxon (constructed here; not from a help page).
z <- c(0.70, 0.41, 0.52, 1.90, 0.99, 1.11, 0.95, 2.70, 1.12)
dep3 <- cbind(first = x, second = y, third = z)
write.csv(dep3, "depression3.csv", row.names = FALSE)
show("friedman depression3", friedman.test(dep3))
d3_long <- data.frame(v = as.vector(dep3), g = factor(rep(colnames(dep3), each = 9), levels = colnames(dep3)))
print(pairwise.wilcox.test(d3_long$v, d3_long$g, paired = TRUE, p.adjust.method = "holm")$p.value)
for (pr in list(c(1, 2), c(1, 3), c(2, 3))) {
  show(paste("signed-rank depression3", pr[1], "vs", pr[2]), wilcox.test(dep3[, pr[1]], dep3[, pr[2]], paired = TRUE))
}

## ?wilcox.test: Hollander & Wolfe (1973), p. 69f. Permeability constants.
xp <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46)
yp <- c(1.15, 0.88, 0.90, 0.74, 1.21)
show("rank-sum permeability greater", wilcox.test(xp, yp, alternative = "g"))
show("rank-sum permeability two.sided", wilcox.test(xp, yp))
## ?wilcox.test: airquality Ozone, May vs August (ties -> normal approximation, continuity correction)
aq <- airquality[airquality$Month %in% c(5, 8) & !is.na(airquality$Ozone), c("Ozone", "Month")]
write.csv(airquality[, c("Ozone", "Month")], "airquality_ozone_month.csv", row.names = FALSE)
show("rank-sum airquality May vs Aug", suppressWarnings(wilcox.test(Ozone ~ Month, data = aq)))

## ?kruskal.test: Hollander & Wolfe (1973), 116. Mucociliary efficiency.
kx <- c(2.9, 3.0, 2.5, 2.6, 3.2) # normal subjects
ky <- c(3.8, 2.7, 4.0, 2.4)      # with obstructive airway disease
kz <- c(2.8, 3.4, 3.7, 2.2, 2.0) # with asbestosis
show("kruskal mucociliary", kruskal.test(list(kx, ky, kz)))
show("kruskal airquality Ozone~Month", kruskal.test(Ozone ~ Month, data = airquality))

## Dunn (1964) z for each pair, with the tie-corrected variance
## sigma^2 = (N(N+1)/12 - sum(t^3 - t)/(12(N-1))) (1/n_i + 1/n_j)
## (the statistic of dunn.test / PMCMRplus::kwAllPairsDunnTest; neither is in Debian 12 and CRAN
## was unreachable, so it is written out here from the formula in Dunn 1964, Technometrics 6:241-252).
dunn <- function(v, g) {
  ok <- !is.na(v) & !is.na(g); v <- v[ok]; g <- factor(g[ok])
  N <- length(v); r <- rank(v); t <- table(v)
  s2 <- N * (N + 1) / 12 - sum(t^3 - t) / (12 * (N - 1))
  lv <- levels(g); out <- NULL
  for (i in 1:(length(lv) - 1)) for (j in (i + 1):length(lv)) {
    ni <- sum(g == lv[i]); nj <- sum(g == lv[j])
    zz <- (mean(r[g == lv[i]]) - mean(r[g == lv[j]])) / sqrt(s2 * (1 / ni + 1 / nj))
    out <- rbind(out, data.frame(a = lv[i], b = lv[j], z = zz, p = 2 * pnorm(-abs(zz))))
  }
  out$p_holm <- p.adjust(out$p, "holm")
  out
}
print(dunn(c(kx, ky, kz), rep(c("x", "y", "z"), c(5, 4, 5))), digits = 15)
print(dunn(airquality$Ozone, airquality$Month), digits = 15)

## p.adjust Holm on a fixed vector (for monotonicity and the step-down max)
print(p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2), "holm"), digits = 15)
