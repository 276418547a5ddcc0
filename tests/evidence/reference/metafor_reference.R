# Reference values for ruxtrack.evidence, computed with R metafor (rma, rma.glmm, escalc, predict,
# leave1out). Run from this folder:  Rscript metafor_reference.R > metafor_reference.log
# Writes metafor_reference.json, read by tests/evidence/test_meta_against_metafor.py.
# Datasets: metadat::dat.pritz1997 (Pritz 1997; 14 studies, two with all events),
# metadat::dat.debruin2009 (de Bruin et al. 2009; 13 studies, subgroups by ethnicity),
# a small constructed set with zero-event studies ("zeros"), and the IPS incidence rows of
# Tomomasa et al. 2021, Table 2 (ips_incidence.csv, exported from the shipped evidence table).
suppressMessages(library(metafor))
suppressMessages(library(jsonlite))

# uniroot (Paule-Mandel) and Fisher scoring (REML/ML) are solved far tighter than metafor's
# defaults so that the reference is the exact estimator, not the default stopping rule.
ctrl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)

pritz <- dat.pritz1997[, c("study", "xi", "ni")]
pritz$study <- as.character(dat.pritz1997$authors)
debruin <- data.frame(study = as.character(dat.debruin2009$author), xi = dat.debruin2009$xi,
                      ni = dat.debruin2009$ni, group = as.character(dat.debruin2009$ethnicity))
zeros <- data.frame(study = paste("Study", 1:6), xi = c(0, 2, 5, 1, 0, 12),
                    ni = c(20, 25, 40, 15, 30, 12))
ips <- read.csv("ips_incidence.csv", stringsAsFactors = FALSE)
ips <- data.frame(study = ips$study, xi = ips$events, ni = ips$total, group = ips$age_group)
datasets <- list(pritz = pritz, debruin = debruin, zeros = zeros, ips = ips)

back <- function(measure, x, ni) {
  if (measure == "PR") return(x)
  if (measure == "PLO") return(transf.ilogit(x))
  transf.ipft.hm(x, targs = list(ni = ni))
}

fit_uni <- function(d, measure, method, test) {
  es <- escalc(measure = measure, xi = xi, ni = ni, data = d)
  res <- rma(yi, vi, data = es, method = method, test = test, control = ctrl)
  pr <- predict(res)
  # predict() of a common-effect model has no prediction interval: it equals the CI
  if (is.null(pr$pi.lb)) { pr$pi.lb <- pr$ci.lb; pr$pi.ub <- pr$ci.ub }
  list(k = res$k, b = c(res$b), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
       tau2 = res$tau2, I2 = res$I2, H2 = res$H2, QE = res$QE, QEp = res$QEp,
       pi_lb = pr$pi.lb, pi_ub = pr$pi.ub,
       est_p = back(measure, c(res$b), d$ni), ci_lb_p = back(measure, res$ci.lb, d$ni),
       ci_ub_p = back(measure, res$ci.ub, d$ni), pi_lb_p = back(measure, pr$pi.lb, d$ni),
       pi_ub_p = back(measure, pr$pi.ub, d$ni),
       yi = c(es$yi), vi = c(es$vi), weights = unname(weights(res)))
}

fit_glmm <- function(d) {
  res <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, method = "ML")
  pr <- predict(res)
  list(k = res$k, b = c(res$b), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
       tau2 = res$tau2, I2 = res$I2, H2 = res$H2, QE_Wld = res$QE.Wld, QEp_Wld = res$QEp.Wld,
       QE_LRT = res$QE.LRT, QEp_LRT = res$QEp.LRT, pi_lb = pr$pi.lb, pi_ub = pr$pi.ub,
       est_p = transf.ilogit(c(res$b)), ci_lb_p = transf.ilogit(res$ci.lb),
       ci_ub_p = transf.ilogit(res$ci.ub), pi_lb_p = transf.ilogit(pr$pi.lb),
       pi_ub_p = transf.ilogit(pr$pi.ub))
}

out <- list(metafor_version = as.character(packageVersion("metafor")),
            lme4_version = as.character(packageVersion("lme4")),
            r_version = R.version.string, uni = list(), glmm = list(), subgroup = list(),
            leave1out = list(), datasets = datasets)

for (dn in c("pritz", "debruin", "zeros", "ips")) {
  for (measure in c("PR", "PLO", "PFT")) for (method in c("FE", "DL", "REML", "PM", "ML"))
    for (test in c("z", "knha")) {
      key <- paste(dn, measure, method, test, sep = "/")
      out$uni[[key]] <- suppressWarnings(fit_uni(datasets[[dn]], measure, method, test))
    }
  out$glmm[[dn]] <- fit_glmm(datasets[[dn]])
}

# Subgroups: (a) a separate model per subgroup (own tau^2), then the Wald-type test of
# differences among the subgroup estimates (fixed-effect Q between, df = G - 1);
# (b) one mixed-effects model with the subgroup as a factor moderator (common tau^2), QM test.
for (dn in c("debruin", "ips")) {
  d <- datasets[[dn]]
  for (measure in c("PR", "PLO", "PFT")) for (method in c("DL", "REML", "PM", "ML", "FE"))
    for (test in c("z", "knha")) {
      groups <- sort(unique(d$group))
      per <- list(); b <- c(); s <- c()
      for (g in groups) {
        r <- suppressWarnings(fit_uni(d[d$group == g, ], measure, method, test))
        per[[g]] <- r[c("k", "b", "se", "ci_lb", "ci_ub", "tau2", "I2", "H2", "QE", "QEp",
                        "pi_lb", "pi_ub", "est_p", "ci_lb_p", "ci_ub_p")]
        b <- c(b, r$b); s <- c(s, r$se)
      }
      between <- rma(yi = b, sei = s, method = "FE")
      es <- escalc(measure = measure, xi = xi, ni = ni, data = d)
      mr <- suppressWarnings(rma(yi, vi, mods = ~ factor(group), data = es, method = method,
                                 test = test, control = ctrl))
      key <- paste(dn, measure, method, test, sep = "/")
      out$subgroup[[key]] <- list(groups = per, Q_between = between$QE,
                                  Q_between_df = length(groups) - 1, Q_between_p = between$QEp,
                                  QM = mr$QM, QMdf = mr$QMdf, QMp = mr$QMp, tau2_common = mr$tau2)
    }
  out$glmm_subgroup[[dn]] <- local({
    groups <- sort(unique(d$group)); per <- list(); b <- c(); s <- c()
    for (g in groups) {
      r <- fit_glmm(d[d$group == g, ])
      per[[g]] <- r[c("k", "b", "se", "ci_lb", "ci_ub", "tau2", "est_p")]
      b <- c(b, r$b); s <- c(s, r$se)
    }
    between <- rma(yi = b, sei = s, method = "FE")
    mr <- rma.glmm(measure = "PLO", xi = xi, ni = ni, mods = ~ factor(group), data = d,
                   method = "ML")
    list(groups = per, Q_between = between$QE, Q_between_p = between$QEp, QM = mr$QM,
         QMp = mr$QMp, tau2_common = mr$tau2)
  })
}

# Leave-one-out: metafor's leave1out() on the model scale; back-transformed estimates use the
# remaining studies (for PFT the harmonic mean of the remaining sample sizes).
for (cfg in list(c("PLO", "REML", "z"), c("PFT", "DL", "knha"), c("PR", "PM", "z"))) {
  d <- pritz
  es <- escalc(measure = cfg[1], xi = xi, ni = ni, data = d)
  res <- rma(yi, vi, data = es, method = cfg[2], test = cfg[3], control = ctrl)
  l1 <- leave1out(res)
  est_p <- sapply(seq_len(nrow(d)), function(i) back(cfg[1], l1$estimate[i], d$ni[-i]))
  out$leave1out[[paste("pritz", cfg[1], cfg[2], cfg[3], sep = "/")]] <- list(
    estimate = l1$estimate, se = l1$se, ci_lb = l1$ci.lb, ci_ub = l1$ci.ub, Q = l1$Q,
    Qp = l1$Qp, tau2 = l1$tau2, I2 = l1$I2, H2 = l1$H2, est_p = est_p)
}
out$leave1out_glmm <- list(pritz = lapply(seq_len(nrow(pritz)), function(i) {
  r <- fit_glmm(pritz[-i, ]); r[c("b", "se", "tau2", "est_p")]
}))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "metafor_reference.json")
cat("metafor", out$metafor_version, "lme4", out$lme4_version, "\n")
print(rma(yi, vi, data = escalc("PLO", xi = xi, ni = ni, data = pritz), method = "REML"))
print(predict(rma(yi, vi, data = escalc("PFT", xi = xi, ni = ni, data = pritz), method = "DL"),
              transf = transf.ipft.hm, targs = list(ni = pritz$ni)))
print(rma.glmm(measure = "PLO", xi = xi, ni = ni, data = pritz, method = "ML"))
