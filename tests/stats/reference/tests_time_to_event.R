# Reference values for ruxtrack.stats.logrank_test (survival::survdiff, rho = 0) and
# ruxtrack.stats.gray_test (cmprsk::cuminc, Gray's k-sample test of cumulative incidence).
# Run from this folder: Rscript tests_time_to_event.R > tests_time_to_event.Rout 2>&1
# (R 4.2.2, survival 3.5-3, cmprsk 2.2-11 from Debian bookworm). Reads the CSVs survival.R wrote.
options(digits = 15, width = 200)
suppressMessages({library(survival); library(cmprsk)})
cat("R:", R.version.string, " survival", format(packageVersion("survival")),
    " cmprsk", format(packageVersion("cmprsk")), "\n")

show_survdiff <- function(label, fit) {
  cat("\n## logrank", label, "\n")
  df <- length(fit$n) - 1
  cat("chisq", format(fit$chisq, digits = 15), "df", df,
      "p", format(pchisq(fit$chisq, df, lower.tail = FALSE), digits = 15), "\n")
  print(data.frame(group = names(fit$n), n = as.vector(fit$n), observed = fit$obs, expected = fit$exp))
}
aml <- read.csv("aml.csv")
show_survdiff("aml by x", survdiff(Surv(time, status) ~ x, data = aml))
lung <- read.csv("lung.csv")
show_survdiff("lung by sex", survdiff(Surv(time, status) ~ sex, data = lung))
ex <- read.csv("cuminc_example.csv")
# any event (cause 1 or 2) as the event, 3 groups
show_survdiff("cuminc_example any cause by group",
              survdiff(Surv(ftime, fstatus > 0) ~ group, data = ex))

show_gray <- function(label, x) {
  cat("\n## gray", label, "\n")
  print(x$Tests)
}
show_gray("cuminc_example by group (3 groups)", cuminc(ex$ftime, ex$fstatus, ex$group))
td <- read.csv("cuminc_ties.csv")
td$arm <- rep(c("a", "b"), length.out = nrow(td))
write.csv(td, "cuminc_ties_arms.csv", row.names = FALSE)
show_gray("cuminc_ties by arm (2 groups, tied days)", cuminc(td$day, td$status, td$arm))
show_survdiff("cuminc_ties death (status 2) by arm",
              survdiff(Surv(day, status == 2) ~ arm, data = td))
