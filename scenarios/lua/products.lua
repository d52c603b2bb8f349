-- Catalog browsing only: 90% single product reads, 10% catalog pages. For scenarios
-- about the product cache, where orders would only add noise.
local shop = require("shop")

setup = shop.number_threads
delay = shop.think_time

function init(args)
  shop.seed(thread_number)
end

function request()
  if math.random() < 0.90 then
    return shop.product_get()
  end
  return shop.product_page()
end
