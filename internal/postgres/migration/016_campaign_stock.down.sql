DROP INDEX deadlines_stock;
