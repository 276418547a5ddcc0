# Reference values for ruxtrack.stats descriptives. Run: Rscript descriptive.R > descriptive.Rout 2>&1
options(digits = 15)
cat("R:", R.version.string, "\n")
## Sample quantiles of type 7 (R default, Hyndman & Fan 1996 definition 7) on airquality$Ozone
oz <- airquality$Ozone
cat(sprintf("ozone n=%d missing=%d median=%.15g min=%.15g max=%.15g\n", sum(!is.na(oz)), sum(is.na(oz)),
            median(oz, na.rm = TRUE), min(oz, na.rm = TRUE), max(oz, na.rm = TRUE)))
print(quantile(oz, c(0.25, 0.5, 0.75), type = 7, na.rm = TRUE), digits = 15)
print(quantile(oz, c(0.25, 0.5, 0.75), type = 6, na.rm = TRUE), digits = 15)
print(quantile(c(2.9, 3.0, 2.5, 2.6, 3.2, 3.8), c(0.25, 0.75), type = 7), digits = 15)
## Binomial CIs: Clopper-Pearson (binom.test) and Wilson (prop.test, correct = FALSE)
for (xn in list(c(10, 18), c(0, 18), c(18, 18), c(3, 10), c(7, 25))) {
  cp <- binom.test(xn[1], xn[2])$conf.int
  wi <- prop.test(xn[1], xn[2], correct = FALSE)$conf.int
  cat(sprintf("x=%d n=%d clopper-pearson=[%.15g, %.15g] wilson=[%.15g, %.15g]\n",
              xn[1], xn[2], cp[1], cp[2], wi[1], wi[2]))
}
