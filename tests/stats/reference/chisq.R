# Reference values for ruxtrack.stats.chisq_test. Run: Rscript chisq.R > chisq.Rout 2>&1
# Tables from R's documented examples: ?chisq.test (Agresti 2007 party identification; the
# InsectSprays 2 x 6 table) and ?fisher.test (Convictions 2 x 2, for the Yates correction).
options(digits = 15)
cat("R:", R.version.string, "\n")
show <- function(label, h) {
  cat(sprintf("%s | X2=%.15g | df=%d | p=%.15g | method=%s\n",
              label, unname(h$statistic), as.integer(h$parameter), h$p.value, h$method))
  cat(sprintf("%s | expected=%s\n", label, paste(sprintf("%.15g", as.vector(h$expected)), collapse = ",")))
}
## ?chisq.test: From Agresti(2007) p.39
M <- as.table(rbind(c(762, 327, 468), c(484, 239, 477)))
dimnames(M) <- list(gender = c("F", "M"), party = c("Democrat", "Independent", "Republican"))
show("Agresti party 2x3", chisq.test(M))
## ?chisq.test: InsectSprays, count > 7 by spray (2 x 6)
tab <- table(InsectSprays$count > 7, InsectSprays$spray)
print(tab)
show("InsectSprays 2x6", withCallingHandlers(chisq.test(tab),
     warning = function(w) { cat("warning:", conditionMessage(w), "\n"); invokeRestart("muffleWarning") }))
## ?fisher.test: Convictions (2 x 2), with and without Yates' continuity correction
Convictions <- matrix(c(2, 10, 15, 3), nrow = 2)
show("Convictions correct=TRUE", withCallingHandlers(chisq.test(Convictions, correct = TRUE),
     warning = function(w) { cat("warning:", conditionMessage(w), "\n"); invokeRestart("muffleWarning") }))
show("Convictions correct=FALSE", suppressWarnings(chisq.test(Convictions, correct = FALSE)))
## ?fisher.test: Job satisfaction (4 x 4; expected counts < 5 -> R warns)
Job <- matrix(c(1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11), 4, 4)
show("Job 4x4", withCallingHandlers(chisq.test(Job),
     warning = function(w) { cat("warning:", conditionMessage(w), "\n"); invokeRestart("muffleWarning") }))
