# Reference values for ruxtrack.stats Fisher's exact test. Run: Rscript fisher.R > fisher.Rout 2>&1
# Tables copied from ?fisher.test (R 4.2.2, package stats) unless marked otherwise.
options(digits = 15)
cat("R:", R.version.string, "\n")
show <- function(label, h) {
  est <- if (is.null(h$estimate)) NA else unname(h$estimate)
  ci <- if (is.null(h$conf.int)) c(NA, NA) else as.numeric(h$conf.int)
  cat(sprintf("%s | p=%.15g | OR=%.15g | CI=[%.15g, %.15g] | method=%s | alternative=%s\n",
              label, h$p.value, est, ci[1], ci[2], h$method, h$alternative))
}
## Agresti (1990, p. 61f; 2002, p. 91) Fisher's Tea Drinker
TeaTasting <- matrix(c(3, 1, 1, 3), nrow = 2,
                     dimnames = list(Guess = c("Milk", "Tea"), Truth = c("Milk", "Tea")))
show("TeaTasting greater", fisher.test(TeaTasting, alternative = "greater"))
show("TeaTasting two.sided", fisher.test(TeaTasting))
## Fisher (1962, 1970), Criminal convictions of like-sex twins
Convictions <- matrix(c(2, 10, 15, 3), nrow = 2,
                      dimnames = list(c("Dizygotic", "Monozygotic"), c("Convicted", "Not convicted")))
show("Convictions less", fisher.test(Convictions, alternative = "less"))
show("Convictions two.sided", fisher.test(Convictions))
show("Convictions 0.95 conf two.sided conf.level=0.99", fisher.test(Convictions, conf.level = 0.99))
## Agresti (2002, p. 57) Job Satisfaction
Job <- matrix(c(1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11), 4, 4,
              dimnames = list(income = c("< 15k", "15-25k", "25-40k", "> 40k"),
                              satisfaction = c("VeryD", "LittleD", "ModerateS", "VeryS")))
show("Job 4x4", fisher.test(Job))
## Small r x c tables shaped like Sarmiento 2021 Table 3 (groups of 10, 5, 3); counts constructed here
early <- matrix(c(10, 0, 1, 4, 1, 2), nrow = 2, dimnames = list(c("early", "late"), c("CR", "LR", "P")))
show("early-start 2x3", fisher.test(early))
age3 <- matrix(c(4, 4, 2, 0, 0, 5, 0, 0, 3), nrow = 3, dimnames = list(c("<40", "41-59", ">60"), c("CR", "LR", "P")))
show("age 3x3", fisher.test(age3))
sex <- matrix(c(8, 2, 3, 2, 2, 1), nrow = 2)
show("sex 2x3", fisher.test(sex))
## 2x2 edge cases: a zero cell (estimate 0 / Inf)
show("zero cell", fisher.test(matrix(c(0, 5, 6, 2), 2)))
show("zero cell inf", fisher.test(matrix(c(7, 0, 2, 5), 2)))

## fisher.test finds the conditional MLE and its CI with uniroot()'s default tolerance
## (.Machine$double.eps^0.25 on the scale t in [0, 1], or 1/t), so its printed odds ratio agrees with
## the exact root to ~5 significant digits and a large upper limit (TeaTasting: 621.9) can be off by
## ~1 %. The same quantities (the definitions of stats:::fisher.test: the noncentral hypergeometric
## mean for the MLE and its tail probabilities for the limits) solved with tol = 1e-14:
cond_or <- function(x, conf.level = 0.95, alternative = "two.sided") {
  m <- sum(x[, 1L]); n <- sum(x[, 2L]); k <- sum(x[1L, ]); x <- x[1L, 1L]
  lo <- max(0L, k - n); hi <- min(k, m); support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) { d <- logdc + log(ncp) * support; d <- exp(d - max(d)); d / sum(d) }
  mnhyper <- function(ncp) { if (ncp == 0) return(lo); if (ncp == Inf) return(hi); sum(support * dnhyper(ncp)) }
  pnhyper <- function(q, ncp, upper.tail = FALSE) {
    if (ncp == 1) return(if (upper.tail) phyper(x - 1, m, n, k, lower.tail = FALSE) else phyper(x, m, n, k))
    if (ncp == 0) return(as.numeric(if (upper.tail) q <= lo else q >= lo))
    if (ncp == Inf) return(as.numeric(if (upper.tail) q <= hi else q >= hi))
    sum(dnhyper(ncp)[if (upper.tail) support >= q else support <= q])
  }
  TOL <- 1e-14
  mle <- if (x == lo) 0 else if (x == hi) Inf else {
    mu <- mnhyper(1)
    if (mu > x) uniroot(function(t) mnhyper(t) - x, c(0, 1), tol = TOL)$root
    else if (mu < x) 1 / uniroot(function(t) mnhyper(1 / t) - x, c(.Machine$double.eps, 1), tol = TOL)$root
    else 1
  }
  ncp.U <- function(alpha) { if (x == hi) return(Inf); p <- pnhyper(x, 1)
    if (p < alpha) uniroot(function(t) pnhyper(x, t) - alpha, c(0, 1), tol = TOL)$root
    else if (p > alpha) 1 / uniroot(function(t) pnhyper(x, 1 / t) - alpha, c(.Machine$double.eps, 1), tol = TOL)$root
    else 1 }
  ncp.L <- function(alpha) { if (x == lo) return(0); p <- pnhyper(x, 1, upper.tail = TRUE)
    if (p > alpha) uniroot(function(t) pnhyper(x, t, upper.tail = TRUE) - alpha, c(0, 1), tol = TOL)$root
    else if (p < alpha) 1 / uniroot(function(t) pnhyper(x, 1 / t, upper.tail = TRUE) - alpha, c(.Machine$double.eps, 1), tol = TOL)$root
    else 1 }
  ci <- switch(alternative, less = c(0, ncp.U(1 - conf.level)), greater = c(ncp.L(1 - conf.level), Inf),
               two.sided = { a <- (1 - conf.level) / 2; c(ncp.L(a), ncp.U(a)) })
  cat(sprintf("tight | OR=%.15g | CI=[%.15g, %.15g] | alternative=%s conf.level=%g\n", mle, ci[1], ci[2], alternative, conf.level))
}
cond_or(TeaTasting); cond_or(TeaTasting, alternative = "greater")
cond_or(Convictions); cond_or(Convictions, alternative = "less"); cond_or(Convictions, conf.level = 0.99)
cond_or(matrix(c(0, 5, 6, 2), 2)); cond_or(matrix(c(7, 0, 2, 5), 2))
