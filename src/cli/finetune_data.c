/* What finetune prints about its data: the shard report and the eras of the run (the data
 * itself is ef_numerai_ft_load's, src/numerai/finetune.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/ef_internal.h"
#include "cli/finetune.h"
#include "eraformer/metrics.h"

void ft_run_free(ft_run *r) {
    ef_rows_cache_destroy(r->cache);
    ef_model_destroy(r->m);
    ef_trainer_free(&r->tr);
    ef_numerai_ft_free(&r->d);
}

/* Which eras and rows every rank holds: one JSONL record per rank in rank 0's log and a line
 * on stderr (the sharding is visible and testable: the ranks' eras are disjoint). */
ef_status ft_report_shards(const ft_run *r, FILE *logf, ef_error *err) {
    int E = r->d.ds.n_eras, P = r->dist->size;
    int *mine = ef_malloc((size_t)(E + 1) * sizeof(int)), *all = NULL, n_all = 0;
    int *counts = ef_malloc((size_t)P * sizeof(int));
    double *rows = ef_calloc((size_t)P, sizeof(double));
    if (!mine || !counts || !rows) {
        ef_free(mine);
        ef_free(counts);
        ef_free(rows);
        return EF_ERR(err, EF_ERR_NOMEM, "out of memory");
    }
    for (int e = 0; e < E; e++) mine[e] = r->d.ds.eras[e].num;
    rows[r->dist->rank] = (double)r->d.ds.n_rows;
    int bad = ef_dist_allgatherv(r->dist, mine, E, sizeof(int), (void **)&all, &n_all, counts) ||
              ef_dist_sum(r->dist, rows, P);
    ef_free(mine);
    if (bad) {
        ef_free(counts);
        ef_free(rows);
        return EF_ERR(err, EF_ERR_IO, "MPI: gathering the shard layout failed");
    }
    for (int q = 0, off = 0; logf && q < P; off += counts[q++]) {
        fprintf(logf, "{\"shard\":%d,\"ranks\":%d,\"rows\":%.0f,\"eras\":[", q, P, rows[q]);
        for (int i = 0; i < counts[q]; i++) fprintf(logf, "%s%d", i ? "," : "", all[off + i]);
        fprintf(logf, "]}\n");
        if (P > 1) fprintf(stderr, "finetune: rank %d of %d holds %d eras, %.0f rows\n", q, P, counts[q], rows[q]);
    }
    ef_free(all);
    ef_free(counts);
    ef_free(rows);
    return EF_OK;
}

/* The era numbers this rank trains on (query eras) and selects on, as one JSONL record: what
 * `train` and the tests check against the eras that are reported. */
void ft_report_eras(const ft_run *r, FILE *logf) {
    if (!logf) return;
    fprintf(logf, "{\"query_eras\":[");
    for (int i = 0; i < r->d.n_q; i++) fprintf(logf, "%s%d", i ? "," : "", r->d.ds.eras[r->d.q_eras[i]].num);
    fprintf(logf, "],\"selection_eras\":[");
    for (int i = 0; i < r->d.n_v; i++) fprintf(logf, "%s%d", i ? "," : "", r->d.ds.eras[r->d.v_eras[i]].num);
    fprintf(logf, "],\"holdout\":%s}\n", r->o.holdout ? "true" : "false");
}
